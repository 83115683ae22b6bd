CREATE OR REPLACE FUNCTION ledger._as_api_key(k ledger.api_keys) RETURNS api.key
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN ROW(k.name, k.role, (SELECT p.name FROM ledger.principals p WHERE p.id = k.principal_id), k.event_types,
           k.customers, k.lookup_prefix, k.created_at, k.created_by, k.revoked_at, k.revoked_by,
           k.revoke_reason)::api.key;
COMMENT ON FUNCTION ledger._as_api_key(ledger.api_keys) IS 'An API key as api.key: never the key or its hash.';
