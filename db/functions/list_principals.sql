CREATE OR REPLACE FUNCTION api.list_principals() RETURNS SETOF api.principal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_principal(p) FROM ledger.principals p ORDER BY p.name;
END;
COMMENT ON FUNCTION api.list_principals() IS 'Every principal, active or not, with its logins and valid keys. For administrators only.';
