-- Revert agentledger:api_types from pg
BEGIN;
DROP TYPE api.audit_verdict;
DROP TYPE api.seal;
DROP TYPE api.audit_entry;
DROP TYPE api.receipt;
DROP TYPE api.event;
COMMIT;
