-- Revert agentledger:functions/revoke_api_key from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.revoke_api_key(text, text);

-- begin db/functions/revoke_api_key.sql
CREATE OR REPLACE FUNCTION api.revoke_api_key(p_name text, p_reason text) RETURNS api.api_key
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
-- end db/functions/revoke_api_key.sql

COMMIT;
