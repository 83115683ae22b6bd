-- Verify agentledger:functions/decide_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz)'::regprocedure;
