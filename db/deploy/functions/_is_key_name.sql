-- Deploy agentledger:functions/_is_key_name to pg
-- Written by `agentledger db functions` from db/functions/_is_key_name.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_is_key_name.sql
CREATE OR REPLACE FUNCTION ledger._is_key_name(p_value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The rule for an API key's name, stated once: the domain ledger.key_name and the CHECK on
-- ledger.api_keys call it.
RETURN p_value ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$';
COMMENT ON FUNCTION ledger._is_key_name(text) IS
    'Is p_value an API key name: a letter or digit, then up to 99 of letters, digits and . _ @ - ? (NULL for NULL.)';
-- end db/functions/_is_key_name.sql

COMMIT;
