-- Verify agentledger:functions/_is_key_name on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._is_key_name(text)'::regprocedure;
