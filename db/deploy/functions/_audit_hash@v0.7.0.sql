-- Deploy agentledger:functions/_audit_hash to pg
-- Written by `agentledger db functions` from db/functions/_audit_hash.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_audit_hash.sql
CREATE OR REPLACE FUNCTION ledger._audit_hash(
    p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer,
    p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text,
    p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer,
    p_recorded_at timestamptz)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The content is a JSON array: its text form does not depend on DateStyle or TimeZone, so any
-- session recomputes the same hash.
RETURN sha256(coalesce(p_prev_hash, ''::bytea) || convert_to(jsonb_build_array(
    p_seq, p_customer_id, p_event_id, p_version, p_from_status, p_to_status, p_actor, p_actor_kind,
    p_db_user, p_reason, p_details, p_attempt, p_recorded_at AT TIME ZONE 'UTC')::text, 'UTF8'));
COMMENT ON FUNCTION ledger._audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status,
    ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamptz) IS
    'The hash of one audit row: sha256 of the previous row''s hash and this row''s content.';
-- end db/functions/_audit_hash.sql

COMMIT;
