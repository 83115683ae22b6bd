-- Verify agentledger:functions/_is_type_name on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._is_type_name(text)'::regprocedure;
