-- Revert agentledger:tables/action_queue_by_type from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;
DROP INDEX ledger.events_action_by_type_idx;
COMMIT;
