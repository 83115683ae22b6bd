-- Verify agentledger:tables/access_log on pg
SELECT id, principal, api_key, db_user, action, event_id, details, recorded_at FROM ledger.access_log WHERE false;
