-- Verify agentledger:functions/_reader on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._reader(text, text, bigint, jsonb)'::regprocedure;
