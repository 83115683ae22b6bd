-- Verify agentledger:functions/_acting on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._acting(text, text[])'::regprocedure;
