-- Verify agentledger:functions/readable_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.readable_events(bigint[], text)'::regprocedure;
