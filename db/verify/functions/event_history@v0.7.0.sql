-- Verify agentledger:functions/event_history on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.event_history(bigint)'::regprocedure;
