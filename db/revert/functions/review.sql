-- Revert agentledger:functions/review from pg
BEGIN;
DROP FUNCTION api.list_reviews(text, integer);
DROP FUNCTION api.review_event(bigint, text, text, text, timestamptz);
DROP TYPE api.review;
COMMIT;
