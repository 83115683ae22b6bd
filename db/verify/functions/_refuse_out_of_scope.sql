-- Verify agentledger:functions/_refuse_out_of_scope on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_out_of_scope(ledger.acting, text, text)'::regprocedure;
