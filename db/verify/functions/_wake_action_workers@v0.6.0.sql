-- Verify agentledger:functions/_wake_action_workers on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._wake_action_workers(jsonb)'::regprocedure;
