-- Revert agentledger:tables/event_types from pg
BEGIN;
DROP TABLE ledger.wakeups;
DROP TABLE ledger.event_types;
DROP FUNCTION ledger._add_wakeups();
COMMIT;
