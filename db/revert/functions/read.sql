-- Revert agentledger:functions/read from pg
BEGIN;
DROP FUNCTION api.event_history(bigint);
DROP FUNCTION api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer);
DROP FUNCTION api.get_event(bigint);
COMMIT;
