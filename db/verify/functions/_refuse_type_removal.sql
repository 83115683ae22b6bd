-- Verify agentledger:functions/_refuse_type_removal on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_type_removal()'::regprocedure;
