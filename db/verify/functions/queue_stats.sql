-- Verify agentledger:functions/queue_stats on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.queue_stats(timestamptz)'::regprocedure;
