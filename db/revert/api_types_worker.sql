-- Revert agentledger:api_types_worker from pg
BEGIN;
DROP TYPE api.report;
DROP TYPE api.claim;
COMMIT;
