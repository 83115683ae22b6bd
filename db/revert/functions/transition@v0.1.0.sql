-- Revert agentledger:functions/transition from pg
BEGIN;
DROP FUNCTION api.cancel_event(bigint, text, text, text, timestamptz);
DROP FUNCTION api.requeue_event(bigint, text, text, text, timestamptz);
DROP FUNCTION ledger._require_status(bigint, ledger.event_status, text);
DROP FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz);
DROP FUNCTION ledger._transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, text);
COMMIT;
