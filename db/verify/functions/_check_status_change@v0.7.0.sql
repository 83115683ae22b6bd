-- Verify agentledger:functions/_check_status_change on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._check_status_change()'::regprocedure;
