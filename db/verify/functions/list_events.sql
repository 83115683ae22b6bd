-- Verify agentledger:functions/list_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer, text)'::regprocedure;
