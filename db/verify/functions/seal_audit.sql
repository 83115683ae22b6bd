-- Verify agentledger:functions/seal_audit on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.seal_audit(text)'::regprocedure;
