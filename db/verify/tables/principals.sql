-- Verify agentledger:tables/principals on pg
SELECT id, name, kind, active FROM ledger.principals WHERE false;
SELECT login, principal_id FROM ledger.principal_logins WHERE false;
SELECT principal_id, event_types, customers FROM ledger.api_keys WHERE false;
SELECT submitted_by, changed_by_key FROM ledger.events WHERE false;
SELECT api_key FROM ledger.audit_log WHERE false;
