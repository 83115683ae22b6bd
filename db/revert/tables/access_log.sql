-- Revert agentledger:tables/access_log from pg
BEGIN;
DROP TABLE ledger.access_log;
COMMIT;
