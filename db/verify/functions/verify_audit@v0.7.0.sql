-- Verify agentledger:functions/verify_audit on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.verify_audit(bigint)'::regprocedure;
