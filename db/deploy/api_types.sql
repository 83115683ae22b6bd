-- Deploy agentledger:api_types to pg
-- What the api functions return. Lease tokens are left out of api.event: only the claimer ever sees
-- its token, so nobody can act under another worker's lease.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TYPE api.event AS (
    id bigint,
    customer_id text,
    event_type text,
    status ledger.event_status,
    payload jsonb,
    priority smallint,
    attempts integer,
    max_attempts integer,
    run_after timestamptz,
    lease_owner text,
    lease_expires_at timestamptz,
    idempotency_key text,
    result jsonb,
    last_error text,
    last_error_type text,
    correlation_id uuid,
    caused_by_event_id bigint,
    version integer,
    changed_by text,
    changed_by_kind ledger.actor_kind,
    change_reason text,
    created_at timestamptz,
    updated_at timestamptz
);
COMMENT ON TYPE api.event IS 'An event as clients see it: every column of ledger.events except the lease token and change details.';

CREATE TYPE api.receipt AS (
    created boolean,
    id bigint,
    customer_id text,
    event_type text,
    status ledger.event_status,
    priority smallint,
    run_after timestamptz,
    idempotency_key text,
    correlation_id uuid,
    created_at timestamptz
);
COMMENT ON TYPE api.receipt IS
    'Answer to a submit: the event''s identity and state, without echoing its payload. created is false when an idempotency key matched an earlier submit.';

CREATE TYPE api.audit_entry AS (
    seq bigint,
    event_id bigint,
    customer_id text,
    version integer,
    from_status ledger.event_status,
    to_status ledger.event_status,
    actor text,
    actor_kind ledger.actor_kind,
    db_user text,
    reason text,
    details jsonb,
    attempt integer,
    recorded_at timestamptz,
    prev_hash text,
    hash text
);
COMMENT ON TYPE api.audit_entry IS 'One audit row as clients see it; hashes in hex.';

CREATE TYPE api.seal AS (
    id bigint,
    first_seq bigint,
    last_seq bigint,
    row_count bigint,
    prev_digest text,
    digest text,
    sealed_by text,
    sealed_at timestamptz
);
COMMENT ON TYPE api.seal IS 'An audit seal as clients see it; digests in hex.';

CREATE TYPE api.audit_verdict AS (
    ok boolean,
    rows_checked bigint,
    seals_checked bigint,
    broken_seq bigint,
    broken_event_id bigint,
    problem text
);
COMMENT ON TYPE api.audit_verdict IS
    'Result of api.verify_audit: ok, how much was checked, and when not ok the first broken audit row (or the event or seal) and what is wrong.';

COMMIT;
