-- Verify agentledger:functions/list_api_keys on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.list_api_keys()'::regprocedure;
