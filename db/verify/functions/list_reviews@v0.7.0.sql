-- Verify agentledger:functions/list_reviews on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.list_reviews(text, integer)'::regprocedure;
