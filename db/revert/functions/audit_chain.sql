-- Revert agentledger:functions/audit_chain from pg
BEGIN;
DROP FUNCTION api.latest_seal();
DROP FUNCTION api.seal_audit(text);
DROP FUNCTION ledger._as_api_seal(ledger.audit_seals);
DROP FUNCTION api.verify_audit(bigint);
COMMIT;
