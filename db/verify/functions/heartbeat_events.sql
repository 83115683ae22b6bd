-- Verify agentledger:functions/heartbeat_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.heartbeat_events(bigint[], uuid[], timestamptz, text)'::regprocedure;
