-- Verify agentledger:functions/_as_api_key on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._as_api_key(ledger.api_keys)'::regprocedure;
