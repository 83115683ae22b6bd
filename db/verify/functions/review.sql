-- Verify agentledger:functions/review on pg
SELECT 'api.review_event(bigint, text, text, text, timestamptz)'::regprocedure,
       'api.list_reviews(text, integer)'::regprocedure;
