-- Deploy agentledger:tables/audit to pg
-- The audit trail: one append-only row per status change, hash-chained per event, plus seals that
-- hash everything since the previous seal so deleted tail rows and whole chains are detected too.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.audit_log (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    customer_id text NOT NULL,
    event_id bigint NOT NULL,
    version integer NOT NULL,
    from_status ledger.event_status,
    to_status ledger.event_status NOT NULL,
    actor text NOT NULL,
    actor_kind ledger.actor_kind NOT NULL,
    db_user text NOT NULL DEFAULT session_user,
    reason text,
    details jsonb,
    attempt integer NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    prev_hash bytea,
    hash bytea NOT NULL,
    PRIMARY KEY (customer_id, seq),
    CONSTRAINT audit_log_first_row_has_no_previous CHECK ((version = 1) = (from_status IS NULL)
                                                         AND (version = 1) = (prev_hash IS NULL))
);
-- An event's history, and the head of its chain.
CREATE INDEX audit_log_event_idx ON ledger.audit_log (event_id, seq);
-- Seals read ranges of seq; rows arrive in seq order, so a tiny BRIN index serves.
CREATE INDEX audit_log_seq_brin ON ledger.audit_log USING brin (seq);

COMMENT ON TABLE ledger.audit_log IS
    'Append-only audit trail: one row per status change of an event, written by triggers on ledger.events, hash-chained per event. Verify with api.verify_audit().';
COMMENT ON COLUMN ledger.audit_log.seq IS 'Global sequence number, in insert order (gaps come from rolled-back transactions).';
COMMENT ON COLUMN ledger.audit_log.customer_id IS 'The customer of the event.';
COMMENT ON COLUMN ledger.audit_log.event_id IS 'The event that changed.';
COMMENT ON COLUMN ledger.audit_log.version IS 'The event version this change produced: 1 for the submit, then +1 per change.';
COMMENT ON COLUMN ledger.audit_log.from_status IS 'Status before the change; NULL for the submit.';
COMMENT ON COLUMN ledger.audit_log.to_status IS 'Status after the change.';
COMMENT ON COLUMN ledger.audit_log.actor IS 'Who made the change: an agent or worker name, a person, an API key name, or the database user.';
COMMENT ON COLUMN ledger.audit_log.actor_kind IS 'agent, human or system.';
COMMENT ON COLUMN ledger.audit_log.db_user IS 'The database login that made the change (session_user), whatever actor it named.';
COMMENT ON COLUMN ledger.audit_log.reason IS 'Why the change was made.';
COMMENT ON COLUMN ledger.audit_log.details IS 'Evidence: model and version, confidence, inputs consulted, error type, the decision result.';
COMMENT ON COLUMN ledger.audit_log.attempt IS 'The event''s attempt count at the change.';
COMMENT ON COLUMN ledger.audit_log.recorded_at IS 'Transaction time of the change (real time, never a test clock).';
COMMENT ON COLUMN ledger.audit_log.prev_hash IS 'hash of the previous row of the same event; NULL on its first row.';
COMMENT ON COLUMN ledger.audit_log.hash IS 'sha256 of prev_hash and this row''s content (see ledger._audit_hash).';

CREATE TABLE ledger.audit_seals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    row_count bigint NOT NULL,
    prev_digest bytea,
    digest bytea NOT NULL,
    sealed_by text NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_seals_range_valid CHECK (first_seq <= last_seq AND row_count >= 1)
);
COMMENT ON TABLE ledger.audit_seals IS
    'Seals of the audit trail: each hashes every audit row since the previous seal. Export the latest digest (api.latest_seal()) to somewhere the database cannot change. Not per customer: one global chain.';
COMMENT ON COLUMN ledger.audit_seals.id IS 'Seal number.';
COMMENT ON COLUMN ledger.audit_seals.first_seq IS 'First audit seq covered.';
COMMENT ON COLUMN ledger.audit_seals.last_seq IS 'Last audit seq covered.';
COMMENT ON COLUMN ledger.audit_seals.row_count IS 'How many audit rows the seal covers.';
COMMENT ON COLUMN ledger.audit_seals.prev_digest IS 'digest of the previous seal; NULL for the first.';
COMMENT ON COLUMN ledger.audit_seals.digest IS 'sha256 of prev_digest and the hashes of the covered rows in seq order.';
COMMENT ON COLUMN ledger.audit_seals.sealed_by IS 'Who sealed.';
COMMENT ON COLUMN ledger.audit_seals.sealed_at IS 'When.';

-- Seal requests: where the audit sequence stood when a seal was asked for, and which transactions
-- were writing audit rows then. A request is sealed once those have ended, so sealing never makes a
-- writer wait. Working state, not evidence: rows are removed once sealed.
CREATE TABLE ledger.seal_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    up_to_seq bigint NOT NULL,
    writers text[] NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ledger.seal_requests IS
    'Pending seals: every audit row up to up_to_seq is sealed once the transactions in writers have ended.';
COMMENT ON COLUMN ledger.seal_requests.id IS 'Request number.';
COMMENT ON COLUMN ledger.seal_requests.up_to_seq IS 'The audit seq reached when the seal was asked for.';
COMMENT ON COLUMN ledger.seal_requests.writers IS
    'Virtual transaction ids then holding a write lock on ledger.audit_log: the only ones that may still commit rows up to up_to_seq.';
COMMENT ON COLUMN ledger.seal_requests.requested_by IS 'Who asked.';
COMMENT ON COLUMN ledger.seal_requests.requested_at IS 'When.';

-- begin db/functions/_refuse_audit_change.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL011',
        MESSAGE = format('%s on %s refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME),
        DETAIL = 'Audit rows and seals are never updated, deleted or truncated, by any role.',
        HINT = 'Record a correction as a new status change; it gets its own audit row.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_audit_change() IS
    'Trigger: refuses UPDATE, DELETE and TRUNCATE on the audit trail and its seals (SQLSTATE AL011).';
-- end db/functions/_refuse_audit_change.sql

-- ENABLE ALWAYS: session_replication_role = replica cannot switch these off.
CREATE TRIGGER _100_refuse_change BEFORE UPDATE OR DELETE ON ledger.audit_log
    FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();
CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();
ALTER TABLE ledger.audit_log ENABLE ALWAYS TRIGGER _100_refuse_change;
ALTER TABLE ledger.audit_log ENABLE ALWAYS TRIGGER _100_refuse_truncate;
CREATE TRIGGER _100_refuse_change BEFORE UPDATE OR DELETE ON ledger.audit_seals
    FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();
CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();
ALTER TABLE ledger.audit_seals ENABLE ALWAYS TRIGGER _100_refuse_change;
ALTER TABLE ledger.audit_seals ENABLE ALWAYS TRIGGER _100_refuse_truncate;

-- Privileges refuse it too, even to the owner (who could only re-grant them deliberately).
REVOKE UPDATE, DELETE, TRUNCATE ON ledger.audit_log, ledger.audit_seals FROM agentledger_owner;
GRANT SELECT ON ledger.audit_log, ledger.audit_seals TO agentledger_auditor;

COMMIT;
