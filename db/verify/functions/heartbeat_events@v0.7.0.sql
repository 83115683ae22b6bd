-- Verify agentledger:functions/heartbeat_events on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.heartbeat_events(bigint[], uuid[], timestamptz)'::regprocedure;
