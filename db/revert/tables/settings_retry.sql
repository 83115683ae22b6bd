-- Revert agentledger:tables/settings_retry from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;
ALTER TABLE ledger.settings DROP COLUMN retry_base_delay, DROP COLUMN retry_max_delay;
COMMIT;
