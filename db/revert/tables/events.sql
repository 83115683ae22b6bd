-- Revert agentledger:tables/events from pg
BEGIN;
DROP TABLE ledger.events;
COMMIT;
