-- Verify agentledger:functions/_may_read on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._may_read(ledger.acting, ledger.events)'::regprocedure;
