-- Verify agentledger:functions/stats on pg
SELECT 'api.queue_stats(timestamptz)'::regprocedure;
