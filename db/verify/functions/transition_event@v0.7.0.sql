-- Verify agentledger:functions/transition_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid)'::regprocedure;
