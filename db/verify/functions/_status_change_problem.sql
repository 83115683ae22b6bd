-- Verify agentledger:functions/_status_change_problem on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._status_change_problem(boolean, boolean, integer, integer, text)'::regprocedure;
