-- Verify agentledger:functions/audit_chain on pg
SELECT 'api.verify_audit(bigint)'::regprocedure, 'api.seal_audit(text)'::regprocedure,
       'api.latest_seal()'::regprocedure;
