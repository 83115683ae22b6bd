-- Verify agentledger:functions/list_blocked on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.list_blocked(integer)'::regprocedure;
