-- Verify agentledger:functions/mark_deadline_breaches on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.mark_deadline_breaches(integer, timestamptz, text)'::regprocedure;
