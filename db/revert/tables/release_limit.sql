-- Revert agentledger:tables/release_limit from pg
BEGIN;
ALTER TABLE ledger.events DROP COLUMN releases;
ALTER TABLE ledger.settings DROP COLUMN free_releases;
COMMIT;
