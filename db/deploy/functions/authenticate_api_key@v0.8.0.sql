-- Deploy agentledger:functions/authenticate_api_key to pg
-- Written by `agentledger db functions` from db/functions/authenticate_api_key.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.authenticate_api_key(text);

-- begin db/functions/authenticate_api_key.sql
CREATE OR REPLACE FUNCTION api.authenticate_api_key(p_key text) RETURNS SETOF api.key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- No row for a malformed, unknown, wrong or revoked key, or one of an inactive principal: the
    -- caller answers 401 either way. (Each function given the key checks it again: ledger._acting.)
    SELECT (ledger._as_api_key(k)).*
      FROM ledger.api_keys k
      JOIN ledger.principals p ON p.id = k.principal_id
     WHERE p_key ~ '^al_[0-9a-f]{64}$'
       AND k.lookup_prefix = substr(p_key, 4, 12)
       AND k.secret_sha256 = sha256(convert_to(p_key, 'UTF8'))
       AND k.revoked_at IS NULL
       AND p.active;
END;
COMMENT ON FUNCTION api.authenticate_api_key(text) IS
    'The valid (not revoked, of an active principal) API key whose text is p_key, as one api.key row; no row otherwise.';
GRANT EXECUTE ON FUNCTION api.authenticate_api_key(text) TO agentledger_api;
-- end db/functions/authenticate_api_key.sql

COMMIT;
