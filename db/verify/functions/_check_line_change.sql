-- Verify agentledger:functions/_check_line_change on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._check_line_change()'::regprocedure;
