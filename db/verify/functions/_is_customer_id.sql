-- Verify agentledger:functions/_is_customer_id on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._is_customer_id(text)'::regprocedure;
