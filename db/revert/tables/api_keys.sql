-- Revert agentledger:tables/api_keys from pg
BEGIN;
DROP TABLE ledger.api_keys;
COMMIT;
