-- Deploy agentledger:functions/_is_idempotency_key to pg
-- Written by `agentledger db functions` from db/functions/_is_idempotency_key.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_is_idempotency_key.sql
CREATE OR REPLACE FUNCTION ledger._is_idempotency_key(p_value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The rule for an idempotency key, stated once: the domain ledger.idempotency_key, the CHECK on
-- ledger.events and the check of a submitted event all call it.
RETURN p_value <> '' AND char_length(p_value) <= 255 AND p_value !~ '[[:cntrl:]]';
COMMENT ON FUNCTION ledger._is_idempotency_key(text) IS
    'Is p_value an idempotency key: 1-255 characters without control characters? (NULL for NULL.)';
-- end db/functions/_is_idempotency_key.sql

COMMIT;
