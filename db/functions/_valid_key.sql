CREATE OR REPLACE FUNCTION ledger._valid_key(p_key text) RETURNS SETOF ledger.api_keys
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- The one statement of what makes a key text valid: well formed, its sha256 that of a key not
    -- revoked, and that key's principal active. The prefix finds the row without scanning hashes.
    SELECT k.*
      FROM ledger.api_keys k
      JOIN ledger.principals p ON p.id = k.principal_id
     WHERE p_key ~ '^al_[0-9a-f]{64}$'
       AND k.lookup_prefix = substr(p_key, 4, 12)
       AND k.secret_sha256 = sha256(convert_to(p_key, 'UTF8'))
       AND k.revoked_at IS NULL
       AND p.active;
END;
COMMENT ON FUNCTION ledger._valid_key(text) IS
    'The API key whose text is p_key, if it is valid: well formed, not revoked, of an active principal; no row otherwise.';
