-- Verify agentledger:functions/release_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.release_events(bigint[], uuid[], text, timestamptz, text)'::regprocedure;
