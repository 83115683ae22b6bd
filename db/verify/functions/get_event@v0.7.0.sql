-- Verify agentledger:functions/get_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.get_event(bigint)'::regprocedure;
