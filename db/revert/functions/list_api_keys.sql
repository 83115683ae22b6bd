-- Revert agentledger:functions/list_api_keys from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_api_keys();

-- begin db/functions/list_api_keys.sql
CREATE OR REPLACE FUNCTION api.list_api_keys() RETURNS SETOF api.api_key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT k.name, k.role, k.lookup_prefix, k.created_at, k.created_by, k.revoked_at, k.revoked_by,
           k.revoke_reason
      FROM ledger.api_keys k ORDER BY k.name;
END;
COMMENT ON FUNCTION api.list_api_keys() IS 'Every API key, valid and revoked, without secrets. For administrators only.';
-- end db/functions/list_api_keys.sql

COMMIT;
