-- Verify agentledger:functions/_checked_status on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_status(text)'::regprocedure;
