-- Verify agentledger:functions/submit_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.submit_events(jsonb, timestamptz, text)'::regprocedure;
