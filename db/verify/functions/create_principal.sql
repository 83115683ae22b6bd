-- Verify agentledger:functions/create_principal on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.create_principal(text, text, text)'::regprocedure;
