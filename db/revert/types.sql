-- Revert agentledger:types from pg
BEGIN;
DROP TYPE ledger.actor_kind;
DROP TYPE ledger.event_status;
COMMIT;
