-- Deploy agentledger:functions/_in_scope to pg
-- Written by `agentledger db functions` from db/functions/_in_scope.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_in_scope.sql
CREATE OR REPLACE FUNCTION ledger._in_scope(p_acting ledger.acting, p_customer_id text, p_event_type text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The one statement of a key's scope: its event types (NULL: all) and its customer pattern, a LIKE
-- pattern (NULL: all). A login's principal has no key and no limit.
RETURN (p_acting.event_types IS NULL OR p_event_type = ANY (p_acting.event_types))
   AND (p_acting.customers IS NULL OR p_customer_id LIKE p_acting.customers);
COMMENT ON FUNCTION ledger._in_scope(ledger.acting, text, text) IS
    'Whether an event of p_event_type for p_customer_id lies within the scope of the acting key (types and a LIKE pattern of customers; NULL: no limit).';
-- end db/functions/_in_scope.sql

COMMIT;
