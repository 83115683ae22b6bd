-- Verify agentledger:functions/deactivate_principal on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.deactivate_principal(text, text)'::regprocedure;
