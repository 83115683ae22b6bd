-- Verify agentledger:functions/fail_events on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz)'::regprocedure;
