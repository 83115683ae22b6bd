-- Deploy agentledger:functions/_acting to pg
-- Written by `agentledger db functions` from db/functions/_acting.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_acting.sql
CREATE OR REPLACE FUNCTION ledger._acting(p_key text, p_key_roles text[]) RETURNS ledger.acting
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- Who is acting in this call, from a credential the database checks itself: the API key passed
-- (its sha256 must be a valid key of an active principal, and its role one of p_key_roles), else
-- the session's login, which PostgreSQL authenticated (ledger.principal_logins). No name a client
-- passes is believed, so a process can act only as the principals whose credentials it holds.
DECLARE
    v_acting ledger.acting;
    v_role text;
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT p.name, CASE p.kind WHEN 'service' THEN 'system' ELSE p.kind END::ledger.actor_kind, k.name,
               k.role, k.event_types, k.customers
          INTO v_acting
          FROM ledger.api_keys k
          JOIN ledger.principals p ON p.id = k.principal_id
         WHERE p_key ~ '^al_[0-9a-f]{64}$'
           AND k.lookup_prefix = substr(p_key, 4, 12)
           AND k.secret_sha256 = sha256(convert_to(p_key, 'UTF8'))
           AND k.revoked_at IS NULL
           AND p.active;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = '28000',
                MESSAGE = 'the API key is not valid',
                DETAIL = 'It is malformed, unknown or revoked, or its principal was deactivated.',
                HINT = 'An administrator creates keys with agentledger keys create.';
        ELSIF NOT v_acting.key_role = ANY (p_key_roles) THEN
            RAISE EXCEPTION USING
                ERRCODE = '42501',
                MESSAGE = format('a %s key may not do this', v_acting.key_role),
                DETAIL = format('Key %s of %s has role %s.', v_acting.api_key, v_acting.principal, v_acting.key_role),
                HINT = format('Use a key with role %s.', array_to_string(p_key_roles, ' or '));
        END IF;
        RETURN v_acting;
    END IF;
    SELECT p.name, CASE p.kind WHEN 'service' THEN 'system' ELSE p.kind END::ledger.actor_kind, NULL, NULL,
           NULL, NULL
      INTO v_acting
      FROM ledger.principal_logins l
      JOIN ledger.principals p ON p.id = l.principal_id
     WHERE l.login = session_user AND p.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = '28000',
            MESSAGE = format('database login %s acts for no principal', session_user),
            DETAIL = 'Every change is made by a principal: through an API key, or through a login mapped to it.',
            HINT = format('An administrator maps it: agentledger principals add NAME --kind KIND --login %s.', session_user);
    END IF;
    RETURN v_acting;
END
$$;
COMMENT ON FUNCTION ledger._acting(text, text[]) IS
    'The principal acting in a call: the one of the API key p_key (28000 if it is not a valid key of an active principal, 42501 if its role is not in p_key_roles), else the one the session''s login is mapped to (28000 if none).';
-- end db/functions/_acting.sql

COMMIT;
