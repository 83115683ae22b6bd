-- Verify agentledger:functions/_valid_key on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._valid_key(text)'::regprocedure;
