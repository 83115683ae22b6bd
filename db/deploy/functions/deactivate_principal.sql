-- Deploy agentledger:functions/deactivate_principal to pg
-- Written by `agentledger db functions` from db/functions/deactivate_principal.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/deactivate_principal.sql
CREATE OR REPLACE FUNCTION api.deactivate_principal(p_name text, p_reason text) RETURNS api.principal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Its keys and logins stop acting at once; its name stays in the audit trail and is never reused.
DECLARE
    v_principal ledger.principals;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'deactivating a principal needs a reason',
            DETAIL = 'The reason is kept with the principal.',
            HINT = 'e.g. "left the bank" or "agent retired".';
    END IF;
    PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
    UPDATE ledger.principals p
       SET active = false, deactivated_at = now(), deactivated_by = session_user, deactivate_reason = p_reason
     WHERE p.name = p_name AND p.active
    RETURNING * INTO v_principal;
    IF NOT FOUND THEN
        SELECT * INTO v_principal FROM ledger.principals p WHERE p.name = p_name;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL016',
                MESSAGE = format('no principal is named %s', coalesce(quote_literal(p_name), 'NULL')),
                DETAIL = 'Nothing was deactivated.',
                HINT = 'List them with agentledger principals list.';
        END IF;
    END IF;
    RETURN ledger._as_api_principal(v_principal);
END
$$;
COMMENT ON FUNCTION api.deactivate_principal(text, text) IS
    'Deactivates the principal named p_name, with a reason (AL008 without one): its keys and logins act no more. Deactivating an inactive principal changes nothing. AL016 for an unknown name. For administrators only.';
-- end db/functions/deactivate_principal.sql

COMMIT;
