-- Verify agentledger:functions/submit_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz)'::regprocedure;
