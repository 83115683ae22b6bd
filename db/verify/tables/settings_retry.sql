-- Verify agentledger:tables/settings_retry on pg
SELECT retry_base_delay, retry_max_delay FROM ledger.settings WHERE false;
