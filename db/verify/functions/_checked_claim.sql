-- Verify agentledger:functions/_checked_claim on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_claim(integer, text[])'::regprocedure;
