-- Deploy agentledger:functions/_as_api_event to pg
-- Written by `agentledger db functions` from db/functions/_as_api_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_as_api_event.sql
CREATE OR REPLACE FUNCTION ledger._as_api_event(e ledger.events) RETURNS api.event
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN ROW(e.id, e.customer_id, e.event_type, e.status, e.payload, e.priority, e.attempts,
           e.max_attempts, e.run_after, e.lease_owner, e.lease_expires_at, e.idempotency_key, e.result,
           e.last_error, e.last_error_type, e.correlation_id, e.caused_by_event_id, e.version,
           e.changed_by, e.changed_by_kind, e.change_reason, e.created_at, e.updated_at)::api.event;
COMMENT ON FUNCTION ledger._as_api_event(ledger.events) IS
    'An events row as clients see it (api.event): without the lease token.';
-- end db/functions/_as_api_event.sql

COMMIT;
