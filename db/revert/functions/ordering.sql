-- Revert agentledger:functions/ordering from pg
BEGIN;
DROP FUNCTION api.list_blocked(integer);
COMMIT;
