-- Deploy agentledger:functions/_submission_problem to pg
-- Written by `agentledger db functions` from db/functions/_submission_problem.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_submission_problem.sql
CREATE OR REPLACE FUNCTION ledger._submission_problem(
    p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer,
    p_idempotency_key text, p_run_after timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The field at fault in a submitted event, or NULL when it is valid. Inlined by the planner, so the
-- batch path pays one CASE per item; the rules of a customer id and an idempotency key are the
-- ledger._is_* functions the domains and the table's CHECKs call (inlined too).
RETURN CASE
    WHEN NOT coalesce(ledger._is_customer_id(p_customer_id), false) THEN 'customer_id'
    WHEN NOT p_type_known THEN 'event_type'
    WHEN p_payload IS NULL OR jsonb_typeof(p_payload) <> 'object' THEN 'payload'
    WHEN p_priority IS NOT NULL AND p_priority NOT BETWEEN -32768 AND 32767 THEN 'priority'
    WHEN NOT ledger._is_idempotency_key(p_idempotency_key) THEN 'idempotency_key'
    WHEN NOT isfinite(p_run_after) THEN 'run_after'
END;
COMMENT ON FUNCTION ledger._submission_problem(text, boolean, jsonb, integer, text, timestamptz) IS
    'Which field of a submitted event is invalid (customer_id, event_type, payload, priority, idempotency_key, run_after), or NULL.';
-- end db/functions/_submission_problem.sql

COMMIT;
