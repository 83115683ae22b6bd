-- Verify agentledger:functions/requeue_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.requeue_event(bigint, text, text, text, timestamptz)'::regprocedure;
