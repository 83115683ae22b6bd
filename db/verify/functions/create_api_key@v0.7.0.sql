-- Verify agentledger:functions/create_api_key on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.create_api_key(text, text)'::regprocedure;
