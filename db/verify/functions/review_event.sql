-- Verify agentledger:functions/review_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.review_event(bigint, text, text, timestamptz, text)'::regprocedure;
