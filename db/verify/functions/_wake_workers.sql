-- Verify agentledger:functions/_wake_workers on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._wake_workers(jsonb)'::regprocedure;
