-- Revert agentledger:tables/audit from pg
BEGIN;
DROP TABLE ledger.seal_requests;
DROP TABLE ledger.audit_seals;
DROP TABLE ledger.audit_log;
DROP FUNCTION ledger._refuse_audit_change();
COMMIT;
