-- Verify agentledger:functions/latest_seal on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.latest_seal()'::regprocedure;
