-- Verify agentledger:functions/_refuse_submission on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_submission(text, bigint, integer, text, text, jsonb, integer, bigint)'::regprocedure;
