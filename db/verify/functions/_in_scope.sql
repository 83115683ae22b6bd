-- Verify agentledger:functions/_in_scope on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._in_scope(ledger.acting, text, text)'::regprocedure;
