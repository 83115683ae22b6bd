-- Revert agentledger:functions/claim from pg
BEGIN;
DROP FUNCTION api.claim_actions(text, integer, text[], timestamptz);
DROP FUNCTION api.claim_events(text, integer, text[], timestamptz);
COMMIT;
