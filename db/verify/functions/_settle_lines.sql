-- Verify agentledger:functions/_settle_lines on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._settle_lines(text[])'::regprocedure;
