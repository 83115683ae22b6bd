-- Verify agentledger:functions/_checked_now on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_now(timestamptz)'::regprocedure;
