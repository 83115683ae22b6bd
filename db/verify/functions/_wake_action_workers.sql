-- Verify agentledger:functions/_wake_action_workers on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._wake_action_workers(jsonb)'::regprocedure;
