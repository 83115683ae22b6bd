-- Verify agentledger:functions/authenticate_api_key on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.authenticate_api_key(text)'::regprocedure;
