-- Revert agentledger:tables/event_types from pg
BEGIN;
DROP TABLE ledger.wakeups;
DROP TABLE ledger.event_types;
DROP FUNCTION ledger._add_wakeups();
DROP FUNCTION ledger._refuse_type_removal();
COMMIT;
