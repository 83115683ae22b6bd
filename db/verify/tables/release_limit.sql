-- Verify agentledger:tables/release_limit on pg
SELECT releases FROM ledger.events WHERE false;
SELECT free_releases FROM ledger.settings WHERE false;
