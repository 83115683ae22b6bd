-- Verify agentledger:functions/_checked_actor on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_actor(text)'::regprocedure;
