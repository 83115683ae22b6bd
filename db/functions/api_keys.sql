CREATE FUNCTION api.create_api_key(p_name text, p_role text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Returns the new key; it is shown this once and only its sha256 is kept. 244 random bits from two
-- version-4 UUIDs (gen_random_uuid uses the server's strong random source).
DECLARE
    v_key text := 'al_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('submitter', 'worker', 'reviewer', 'auditor') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('unknown API key role %s', coalesce(quote_literal(p_role), 'NULL')),
            DETAIL = 'A key''s role decides which endpoints it may call.',
            HINT = 'Use one of: submitter, worker, reviewer, auditor.';
    ELSIF p_name IS NULL OR p_name !~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('invalid API key name %s', coalesce(quote_literal(p_name), 'NULL')),
            DETAIL = 'The name is the actor of every change made with the key.',
            HINT = 'Use 1-100 letters, digits and . _ @ -, starting with a letter or digit, e.g. "intake-service".';
    END IF;
    BEGIN
        INSERT INTO ledger.api_keys (name, role, lookup_prefix, secret_sha256)
        VALUES (p_name, p_role, substr(v_key, 4, 12), sha256(convert_to(v_key, 'UTF8')));
    EXCEPTION WHEN unique_violation THEN
        -- The unique index decides, also between two administrators creating the same name at once.
        RAISE EXCEPTION USING
            ERRCODE = 'AL015',
            MESSAGE = format('an API key named %s exists already', p_name),
            DETAIL = 'Names are never reused, even after revocation, so the audit trail names one holder.',
            HINT = 'Choose another name, e.g. with a suffix: "intake-service-2".';
    END;
    RETURN v_key;
END
$$;
COMMENT ON FUNCTION api.create_api_key(text, text) IS
    'Creates an API key named p_name (the actor it acts as) with role submitter, worker, reviewer or auditor, and returns the key: shown once, stored only as a sha256. AL015 if the name was ever used. For administrators only.';

CREATE FUNCTION api.revoke_api_key(p_name text, p_reason text) RETURNS api.api_key
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_key ledger.api_keys;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'revoking an API key needs a reason',
            DETAIL = 'The reason is kept with the key.',
            HINT = 'e.g. "leaked in a log file" or "service retired".';
    END IF;
    UPDATE ledger.api_keys k
       SET revoked_at = now(), revoked_by = session_user, revoke_reason = p_reason
     WHERE k.name = p_name AND k.revoked_at IS NULL
    RETURNING * INTO v_key;
    IF NOT FOUND THEN
        SELECT * INTO v_key FROM ledger.api_keys k WHERE k.name = p_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL016',
                MESSAGE = format('no API key is named %s', coalesce(quote_literal(p_name), 'NULL')),
                DETAIL = 'Nothing was revoked.',
                HINT = 'List the keys with api.list_api_keys().';
        END IF;
    END IF;
    RETURN ROW(v_key.name, v_key.role, v_key.lookup_prefix, v_key.created_at, v_key.created_by,
               v_key.revoked_at, v_key.revoked_by, v_key.revoke_reason)::api.api_key;
END
$$;
COMMENT ON FUNCTION api.revoke_api_key(text, text) IS
    'Revokes the API key named p_name, with a reason (AL008 without one); it stops working at once in the database and within the API''s key cache time. Revoking a revoked key changes nothing. AL016 for an unknown name. For administrators only.';

CREATE FUNCTION api.list_api_keys() RETURNS SETOF api.api_key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT k.name, k.role, k.lookup_prefix, k.created_at, k.created_by, k.revoked_at, k.revoked_by,
           k.revoke_reason
      FROM ledger.api_keys k ORDER BY k.name;
END;
COMMENT ON FUNCTION api.list_api_keys() IS 'Every API key, valid and revoked, without secrets. For administrators only.';

CREATE FUNCTION api.authenticate_api_key(p_key text) RETURNS SETOF api.api_key
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
