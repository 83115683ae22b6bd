-- Verify agentledger:functions/_add_wakeups on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._add_wakeups()'::regprocedure;
