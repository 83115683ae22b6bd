-- Verify agentledger:functions/_checked_report on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_report(bigint[], uuid[], integer[])'::regprocedure;
