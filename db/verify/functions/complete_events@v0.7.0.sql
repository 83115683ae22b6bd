-- Verify agentledger:functions/complete_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.complete_events(bigint[], uuid[], jsonb[], timestamptz)'::regprocedure;
