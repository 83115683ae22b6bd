-- Verify agentledger:functions/list_seals on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.list_seals(bigint, integer)'::regprocedure;
