-- Revert agentledger:functions/stats from pg
BEGIN;
DROP FUNCTION api.queue_stats(timestamptz);
COMMIT;
