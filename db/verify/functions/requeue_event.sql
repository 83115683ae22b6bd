-- Verify agentledger:functions/requeue_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.requeue_event(bigint, text, timestamptz, text)'::regprocedure;
