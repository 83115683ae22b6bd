CREATE OR REPLACE FUNCTION api.list_api_keys() RETURNS SETOF api.key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT (ledger._as_api_key(k)).* FROM ledger.api_keys k ORDER BY k.name;
END;
COMMENT ON FUNCTION api.list_api_keys() IS 'Every API key, valid and revoked, with its principal and scope, without secrets. For administrators only.';
