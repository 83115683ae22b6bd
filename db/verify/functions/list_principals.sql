-- Verify agentledger:functions/list_principals on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.list_principals()'::regprocedure;
