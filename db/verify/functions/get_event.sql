-- Verify agentledger:functions/get_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.get_event(bigint, text)'::regprocedure;
