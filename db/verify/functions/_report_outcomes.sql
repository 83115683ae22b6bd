-- Verify agentledger:functions/_report_outcomes on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text, text)'::regprocedure;
