-- Revert agentledger:functions/internal from pg
BEGIN;
DROP FUNCTION ledger._checked_now(timestamptz);
DROP FUNCTION ledger._refuse_unknown_event(bigint);
DROP FUNCTION ledger._checked_status(text);
DROP FUNCTION ledger._checked_actor_kind(text);
DROP FUNCTION ledger._checked_actor(text);
DROP FUNCTION ledger._transition_hint(bigint, ledger.event_status);
DROP FUNCTION ledger._wake_workers(jsonb);
DROP FUNCTION ledger._as_api_event(ledger.events);
DROP FUNCTION ledger._audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status,
    ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamptz);
COMMIT;
