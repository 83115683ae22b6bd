-- Deploy agentledger:functions/create_principal to pg
-- Written by `agentledger db functions` from db/functions/create_principal.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/create_principal.sql
CREATE OR REPLACE FUNCTION api.create_principal(p_name text, p_kind text, p_login text DEFAULT NULL)
RETURNS api.principal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- A new principal; with p_login, that database login acts for it from now on.
DECLARE
    v_principal ledger.principals;
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('human', 'agent', 'service') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown principal kind %s', coalesce(quote_literal(p_kind), 'NULL')),
            DETAIL = 'A principal is a person, an agent or a service; only a human may review.',
            HINT = 'Use one of: human, agent, service.';
    ELSIF p_name IS NULL OR NOT ledger._is_key_name(p_name) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'principals_name_format',
            MESSAGE = format('invalid principal name %s', coalesce(quote_literal(p_name), 'NULL')),
            DETAIL = 'The name is the actor of every change the principal makes.',
            HINT = 'Use 1-100 letters, digits and . _ @ -, starting with a letter or digit, e.g. "alice" or "underwriting-agent".';
    ELSIF p_login IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = p_login) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL016',
            MESSAGE = format('no database role is named %s', quote_literal(p_login)),
            DETAIL = 'Nothing was created.',
            HINT = 'Create the login first (CREATE ROLE ... LOGIN IN ROLE agentledger_worker), or leave --login out.';
    END IF;
    BEGIN
        INSERT INTO ledger.principals (name, kind) VALUES (p_name, p_kind) RETURNING * INTO v_principal;
        IF p_login IS NOT NULL THEN
            INSERT INTO ledger.principal_logins (login, principal_id) VALUES (p_login, v_principal.id);
        END IF;
    EXCEPTION WHEN unique_violation THEN
        -- The unique indexes decide, also between two administrators at once.
        RAISE EXCEPTION USING
            ERRCODE = 'AL015',
            MESSAGE = CASE WHEN EXISTS (SELECT 1 FROM ledger.principals p WHERE p.name = p_name)
                           THEN format('a principal named %s exists already', p_name)
                           ELSE format('login %s acts for another principal already', p_login) END,
            DETAIL = 'Principal names are never reused, and a login acts for one principal.',
            HINT = 'Choose another name, or another login.';
    END;
    RETURN ledger._as_api_principal(v_principal);
END
$$;
COMMENT ON FUNCTION api.create_principal(text, text, text) IS
    'Creates a principal (kind human, agent or service; AL020 otherwise) named p_name (AL015 if the name was ever used); with p_login, that database login acts for it when it calls the api functions directly (AL016 if no such role; AL015 if it acts for another). For administrators only.';
-- end db/functions/create_principal.sql

COMMIT;
