-- Revert agentledger:functions/create_api_key from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/create_api_key.sql
CREATE OR REPLACE FUNCTION api.create_api_key(p_name text, p_role text) RETURNS text
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
-- end db/functions/create_api_key.sql

COMMIT;
