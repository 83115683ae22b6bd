-- Verify agentledger:functions/event_history on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.event_history(bigint, text)'::regprocedure;
