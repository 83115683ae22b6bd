-- Verify agentledger:functions/event_history_page on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.event_history_page(bigint, bigint, integer, text)'::regprocedure;
