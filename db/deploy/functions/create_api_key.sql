-- Deploy agentledger:functions/create_api_key to pg
-- Written by `agentledger db functions` from db/functions/create_api_key.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.create_api_key(text, text);

-- begin db/functions/create_api_key.sql
CREATE OR REPLACE FUNCTION api.create_api_key(
    p_principal text,
    p_role text,
    p_name text DEFAULT NULL,
    p_event_types text[] DEFAULT NULL,
    p_customers text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Returns the new key; it is shown this once and only its sha256 is kept. 244 random bits from two
-- version-4 UUIDs (gen_random_uuid uses the server's strong random source).
DECLARE
    v_key text := 'al_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    v_name text := coalesce(p_name, p_principal);
    v_principal ledger.principals;
BEGIN
    SELECT * INTO v_principal FROM ledger.principals p WHERE p.name = p_principal;
    IF NOT FOUND OR NOT v_principal.active THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL016',
            MESSAGE = format('no active principal is named %s', coalesce(quote_literal(p_principal), 'NULL')),
            DETAIL = 'Every key acts for one active principal.',
            HINT = 'Create it first: agentledger principals add NAME --kind human|agent|service.';
    ELSIF p_role IS NULL OR p_role NOT IN ('submitter', 'worker', 'reviewer', 'auditor') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown API key role %s', coalesce(quote_literal(p_role), 'NULL')),
            DETAIL = 'A key''s role decides which functions it may call.',
            HINT = 'Use one of: submitter, worker, reviewer, auditor.';
    ELSIF p_role = 'reviewer' AND v_principal.kind <> 'human' THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('%s is %s: only a human principal may hold a reviewer key', p_principal, v_principal.kind),
            DETAIL = 'Reviews are the people in the loop.',
            HINT = 'Give the reviewer key to a principal of kind human.';
    ELSIF NOT ledger._is_key_name(v_name) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'key_name_valid',
            MESSAGE = format('invalid API key name %s', quote_literal(v_name)),
            DETAIL = 'The name is recorded, beside its principal, with every change made with the key.',
            HINT = 'Use 1-100 letters, digits and . _ @ -, starting with a letter or digit, e.g. "intake-service".';
    ELSIF p_event_types IS NOT NULL
          AND (cardinality(p_event_types) = 0 OR EXISTS (SELECT 1 FROM unnest(p_event_types) t (name)
                                                          WHERE NOT EXISTS (SELECT 1 FROM ledger.event_types r
                                                                             WHERE r.name = t.name))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('event types %s are not all registered', p_event_types),
            DETAIL = 'A key limited to types may submit, claim and read only events of those types.',
            HINT = 'Name registered types (ledger.event_types), or none for all.';
    END IF;
    BEGIN
        INSERT INTO ledger.api_keys (name, role, lookup_prefix, secret_sha256, principal_id, event_types, customers)
        VALUES (v_name, p_role, substr(v_key, 4, 12), sha256(convert_to(v_key, 'UTF8')), v_principal.id,
                p_event_types, p_customers);
    EXCEPTION WHEN unique_violation THEN
        -- The unique index decides, also between two administrators creating the same name at once.
        RAISE EXCEPTION USING
            ERRCODE = 'AL015',
            MESSAGE = format('an API key named %s exists already', v_name),
            DETAIL = 'Names are never reused, even after revocation, so the audit trail names one key.',
            HINT = 'Choose another name, e.g. with a suffix: "intake-service-2".';
    END;
    RETURN v_key;
END
$$;
COMMENT ON FUNCTION api.create_api_key(text, text, text, text[], text) IS
    'Creates an API key for the active principal p_principal (AL016 otherwise) with role submitter, worker, reviewer (human principals only) or auditor, named p_name (default: the principal''s name; AL015 if ever used), limited to p_event_types and to customer ids LIKE p_customers when given, and returns the key: shown once, stored only as a sha256. For administrators only.';
-- end db/functions/create_api_key.sql

COMMIT;
