-- Revert agentledger:functions/report from pg
BEGIN;
DROP FUNCTION api.release_events(bigint[], uuid[], text, timestamptz);
DROP FUNCTION api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz);
DROP FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz);
DROP FUNCTION api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz);
DROP FUNCTION api.heartbeat_events(bigint[], uuid[], timestamptz);
COMMIT;
