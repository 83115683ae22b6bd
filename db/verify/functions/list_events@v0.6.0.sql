-- Verify agentledger:functions/list_events on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer)'::regprocedure;
