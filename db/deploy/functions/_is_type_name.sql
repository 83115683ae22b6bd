-- Deploy agentledger:functions/_is_type_name to pg
-- Written by `agentledger db functions` from db/functions/_is_type_name.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_is_type_name.sql
CREATE OR REPLACE FUNCTION ledger._is_type_name(p_value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The rule for an event type's name, stated once: the domain ledger.type_name and the CHECK on
-- ledger.event_types call it.
RETURN p_value ~ '^[a-z][a-z0-9_.-]{0,49}$';
COMMENT ON FUNCTION ledger._is_type_name(text) IS
    'Is p_value an event type name: a lowercase letter, then up to 49 of a-z 0-9 _ . - ? (NULL for NULL.)';
-- end db/functions/_is_type_name.sql

COMMIT;
