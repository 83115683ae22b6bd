-- Verify agentledger:functions/list_blocked on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.list_blocked(integer)'::regprocedure;
