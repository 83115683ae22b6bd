-- Verify agentledger:functions/_retry_delay on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._retry_delay(integer)'::regprocedure;
