-- Verify agentledger:functions/cancel_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.cancel_event(bigint, text, text, text, timestamptz)'::regprocedure;
