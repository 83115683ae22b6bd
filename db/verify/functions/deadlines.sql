-- Verify agentledger:functions/deadlines on pg
SELECT 'api.mark_deadline_breaches(integer, text, timestamptz)'::regprocedure;
