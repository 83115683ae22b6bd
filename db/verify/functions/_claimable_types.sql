-- Verify agentledger:functions/_claimable_types on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._claimable_types(ledger.acting, text[])'::regprocedure;
