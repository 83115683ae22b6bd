-- Revert agentledger:tables/settings from pg
BEGIN;
DROP TABLE ledger.settings;
COMMIT;
