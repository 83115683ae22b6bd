-- Verify agentledger:functions/transition_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.transition_event(bigint, text, text, jsonb, jsonb, timestamptz, uuid, text)'::regprocedure;
