-- Verify agentledger:functions/_refuse_unknown_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_unknown_event(bigint)'::regprocedure;
