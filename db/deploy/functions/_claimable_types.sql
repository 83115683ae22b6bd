-- Deploy agentledger:functions/_claimable_types to pg
-- Written by `agentledger db functions` from db/functions/_claimable_types.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_claimable_types.sql
CREATE OR REPLACE FUNCTION ledger._claimable_types(p_acting ledger.acting, p_event_types text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
-- The types a claim reads: those asked for (NULL: any), within the key's types. A key limited to
-- types that asks for none claims its own; asking for one outside them is refused.
BEGIN
    IF p_acting.event_types IS NULL THEN
        RETURN p_event_types;
    ELSIF p_event_types IS NULL THEN
        RETURN p_acting.event_types;
    ELSIF NOT p_event_types <@ p_acting.event_types THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('key %s may not claim events of types %s', p_acting.api_key,
                             array_to_string(ARRAY(SELECT unnest(p_event_types) EXCEPT SELECT unnest(p_acting.event_types)), ', ')),
            DETAIL = format('It may claim %s.', array_to_string(p_acting.event_types, ', ')),
            HINT = 'Ask for types within the key''s scope, or for none to claim any of them.';
    END IF;
    RETURN p_event_types;
END
$$;
COMMENT ON FUNCTION ledger._claimable_types(ledger.acting, text[]) IS
    'The event types a claim by the acting principal reads: p_event_types (NULL: any) within its key''s types; 42501 for a type outside them.';
-- end db/functions/_claimable_types.sql

COMMIT;
