-- Deploy agentledger:functions/list_api_keys to pg
-- Written by `agentledger db functions` from db/functions/list_api_keys.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_api_keys();

-- begin db/functions/list_api_keys.sql
CREATE OR REPLACE FUNCTION api.list_api_keys() RETURNS SETOF api.key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT (ledger._as_api_key(k)).* FROM ledger.api_keys k ORDER BY k.name;
END;
COMMENT ON FUNCTION api.list_api_keys() IS 'Every API key, valid and revoked, with its principal and scope, without secrets. For administrators only.';
-- end db/functions/list_api_keys.sql

COMMIT;
