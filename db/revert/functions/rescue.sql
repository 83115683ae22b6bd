-- Revert agentledger:functions/rescue from pg
BEGIN;
DROP FUNCTION api.rescue_expired_leases(integer, text, timestamptz);
COMMIT;
