-- Revert agentledger:functions/audit_feed from pg
BEGIN;
DROP FUNCTION api.audit_feed(bigint, bigint, integer);
DROP FUNCTION api.audit_feed_position(text[]);
COMMIT;
