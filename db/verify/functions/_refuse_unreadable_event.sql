-- Verify agentledger:functions/_refuse_unreadable_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_unreadable_event(ledger.acting, bigint)'::regprocedure;
