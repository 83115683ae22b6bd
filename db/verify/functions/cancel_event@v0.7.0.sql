-- Verify agentledger:functions/cancel_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.cancel_event(bigint, text, text, text, timestamptz)'::regprocedure;
