-- Revert agentledger:functions/deadlines from pg
BEGIN;
DROP FUNCTION api.mark_deadline_breaches(integer, text, timestamptz);
DROP TYPE api.deadline_breach;
COMMIT;
