-- Deploy agentledger:functions/list_principals to pg
-- Written by `agentledger db functions` from db/functions/list_principals.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/list_principals.sql
CREATE OR REPLACE FUNCTION api.list_principals() RETURNS SETOF api.principal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_principal(p) FROM ledger.principals p ORDER BY p.name;
END;
COMMENT ON FUNCTION api.list_principals() IS 'Every principal, active or not, with its logins and valid keys. For administrators only.';
-- end db/functions/list_principals.sql

COMMIT;
