-- Deploy agentledger:tables/events to pg
-- One row per piece of work. Columns for the worker protocol (lease, attempts, run_after) are here
-- from the start so the protocol adds functions, not schema. CHECK constraints tie them to status.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id text NOT NULL,
    -- A registered type. Checked set-based by the audit trigger rather than by a foreign key: every
    -- insert would otherwise share-lock the same event_types row.
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status ledger.event_status NOT NULL DEFAULT 'queued',
    priority smallint NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    run_after timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_token uuid,
    lease_expires_at timestamptz,
    idempotency_key text,
    result jsonb,
    last_error text,
    last_error_type text,
    correlation_id uuid,
    caused_by_event_id bigint,
    version integer NOT NULL DEFAULT 1,
    changed_by text NOT NULL DEFAULT session_user,
    changed_by_kind ledger.actor_kind NOT NULL DEFAULT 'human',
    change_reason text,
    change_details jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Leads with customer_id so the table can be distributed by customer (Citus co-location).
    PRIMARY KEY (customer_id, id),
    CONSTRAINT events_customer_id_valid CHECK (
        customer_id <> '' AND char_length(customer_id) <= 64 AND customer_id !~ '[[:cntrl:]]'),
    CONSTRAINT events_payload_is_object CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT events_attempts_valid CHECK (
        max_attempts BETWEEN 1 AND 100 AND attempts BETWEEN 0 AND max_attempts),
    CONSTRAINT events_idempotency_key_valid CHECK (
        idempotency_key IS NULL
        OR (idempotency_key <> '' AND char_length(idempotency_key) <= 255
            AND idempotency_key !~ '[[:cntrl:]]')),
    -- A lease exists only while a worker holds the event: deciding it (processing) or running the
    -- follow-up action of a decided event. Queued, completed and failed events never hold one.
    CONSTRAINT events_lease_matches_status CHECK (
        (lease_token IS NULL) = (lease_owner IS NULL)
        AND (lease_token IS NULL) = (lease_expires_at IS NULL)
        AND CASE status
                WHEN 'processing' THEN lease_token IS NOT NULL
                WHEN 'approved' THEN true
                WHEN 'rejected' THEN true
                ELSE lease_token IS NULL
            END),
    CONSTRAINT events_result_is_object CHECK (result IS NULL OR jsonb_typeof(result) = 'object'),
    CONSTRAINT events_actor_named CHECK (changed_by <> ''),
    CONSTRAINT events_version_positive CHECK (version >= 1),
    CONSTRAINT events_run_after_finite CHECK (isfinite(run_after))
);

-- Lookups by id alone, and ids unique even against OVERRIDING SYSTEM VALUE. (Distributed by
-- customer on Citus, this becomes a plain index, with uniqueness left to the identity.)
CREATE UNIQUE INDEX events_id_key ON ledger.events (id);
CREATE UNIQUE INDEX events_idempotency_key_unique ON ledger.events (customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The claim order: highest priority first, then oldest.
CREATE INDEX events_claim_order_idx ON ledger.events (priority DESC, id) WHERE status = 'queued';
CREATE INDEX events_status_idx ON ledger.events (status, id);
-- Rescue of expired leases looks only at held events.
CREATE INDEX events_lease_expiry_idx ON ledger.events (lease_expires_at) WHERE lease_token IS NOT NULL;

COMMENT ON TABLE ledger.events IS
    'Work for agents: one row per event. Status changes follow ledger.transitions and each leaves one row in ledger.audit_log.';
COMMENT ON COLUMN ledger.events.id IS 'Event id, assigned by the database.';
COMMENT ON COLUMN ledger.events.customer_id IS 'The bank customer the event concerns: 1-64 characters, no control characters. The sharding key.';
COMMENT ON COLUMN ledger.events.event_type IS 'A registered type (ledger.event_types).';
COMMENT ON COLUMN ledger.events.payload IS 'The work itself: a JSON object, at most ledger.settings.max_payload_bytes as JSON text. Write-once.';
COMMENT ON COLUMN ledger.events.status IS 'Lifecycle status (see type ledger.event_status).';
COMMENT ON COLUMN ledger.events.priority IS 'Claim order: higher runs first; ties go to the older event.';
COMMENT ON COLUMN ledger.events.attempts IS 'How many times the event has been claimed.';
COMMENT ON COLUMN ledger.events.max_attempts IS 'Claims allowed before the event fails for good (from its type at submit).';
COMMENT ON COLUMN ledger.events.run_after IS 'Not claimable before this time: a schedule or a retry back-off.';
COMMENT ON COLUMN ledger.events.lease_owner IS 'The worker holding the lease, while one does.';
COMMENT ON COLUMN ledger.events.lease_token IS 'Secret of the current lease: the holder presents it to act on the event. Never shown to other clients.';
COMMENT ON COLUMN ledger.events.lease_expires_at IS 'When the lease lapses unless renewed; the event may then be rescued.';
COMMENT ON COLUMN ledger.events.idempotency_key IS 'Client key making a submit safe to retry; unique per customer.';
COMMENT ON COLUMN ledger.events.result IS 'The decision result (a JSON object) recorded with approve or reject.';
COMMENT ON COLUMN ledger.events.last_error IS 'Text of the last failure.';
COMMENT ON COLUMN ledger.events.last_error_type IS 'Kind of the last failure (e.g. an exception class).';
COMMENT ON COLUMN ledger.events.correlation_id IS 'Groups a chain of events caused by one another; inherited from the causing event.';
COMMENT ON COLUMN ledger.events.caused_by_event_id IS 'The event whose handling submitted this one.';
COMMENT ON COLUMN ledger.events.version IS 'Counts status changes: 1 at submit, +1 per change. A writer that does not advance it is recorded as session_user.';
COMMENT ON COLUMN ledger.events.changed_by IS 'Who made the latest status change (copied into the audit row).';
COMMENT ON COLUMN ledger.events.changed_by_kind IS 'Whether that was an agent, a human or the system.';
COMMENT ON COLUMN ledger.events.change_reason IS 'Why the latest status change was made.';
COMMENT ON COLUMN ledger.events.change_details IS 'Evidence for the latest change (model, version, confidence, ...), copied into the audit row.';
COMMENT ON COLUMN ledger.events.created_at IS 'When the event was submitted.';
COMMENT ON COLUMN ledger.events.updated_at IS 'When the row last changed.';

-- Auditors read everything but the lease token, the secret a lease holder acts with.
GRANT SELECT (id, customer_id, event_type, payload, status, priority, attempts, max_attempts, run_after,
              lease_owner, lease_expires_at, idempotency_key, result, last_error, last_error_type,
              correlation_id, caused_by_event_id, version, changed_by, changed_by_kind, change_reason,
              change_details, created_at, updated_at)
    ON ledger.events TO agentledger_auditor;

COMMIT;
