-- Revert agentledger:functions/authenticate_api_key from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.authenticate_api_key(text);

-- begin db/functions/authenticate_api_key.sql
CREATE OR REPLACE FUNCTION api.authenticate_api_key(p_key text) RETURNS SETOF api.api_key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- No row for a malformed, unknown, wrong or revoked key: the caller answers 401 either way.
    SELECT k.name, k.role, k.lookup_prefix, k.created_at, k.created_by, k.revoked_at, k.revoked_by,
           k.revoke_reason
      FROM ledger.api_keys k
     WHERE p_key ~ '^al_[0-9a-f]{64}$'
       AND k.lookup_prefix = substr(p_key, 4, 12)
       AND k.secret_sha256 = sha256(convert_to(p_key, 'UTF8'))
       AND k.revoked_at IS NULL;
END;
COMMENT ON FUNCTION api.authenticate_api_key(text) IS
    'The valid (not revoked) API key whose text is p_key, as one api.api_key row; no row otherwise.';
GRANT EXECUTE ON FUNCTION api.authenticate_api_key(text) TO agentledger_api;
-- end db/functions/authenticate_api_key.sql

COMMIT;
