-- Verify agentledger:functions/_as_api_principal on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._as_api_principal(ledger.principals)'::regprocedure;
