-- Verify agentledger:functions/_flat_length on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._flat_length(anyarray)'::regprocedure;
