-- Deploy agentledger:triggers/events to pg
-- The rules that hold against every writer of ledger.events, the owner in psql included. Names
-- show the firing order. ENABLE ALWAYS: session_replication_role = replica cannot skip them.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_event_delete.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_event_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL012',
        MESSAGE = format('%s on ledger.events refused: events are never removed', TG_OP),
        DETAIL = 'An event and its audit trail are kept together; a missing event would hide its decisions.',
        HINT = 'Cancel a queued event (api.cancel_event) or fail a held one instead.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_event_delete() IS
    'Trigger: refuses DELETE and TRUNCATE on ledger.events (SQLSTATE AL012).';
-- end db/functions/_refuse_event_delete.sql

-- begin db/functions/_refuse_write_once_change.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_write_once_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.customer_id, NEW.event_type, NEW.idempotency_key, NEW.correlation_id,
        NEW.caused_by_event_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.customer_id, OLD.event_type, OLD.idempotency_key, OLD.correlation_id,
        OLD.caused_by_event_id, OLD.created_at)
       OR NEW.payload IS DISTINCT FROM OLD.payload THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: what was submitted cannot be changed', OLD.id),
            DETAIL = 'id, customer_id, event_type, payload, idempotency_key, correlation_id, caused_by_event_id and created_at are write-once.',
            HINT = 'Submit a new event (caused_by_event_id can point to this one) instead.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._refuse_write_once_change() IS
    'Trigger: refuses changes to what was submitted (AL012); fires only when an UPDATE names one of those columns.';
-- end db/functions/_refuse_write_once_change.sql

-- begin db/functions/_check_status_change.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._check_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE UPDATE OF status, for every writer (functions, raw UPDATEs, the owner in psql).
DECLARE
    v_rule ledger.transitions;
BEGIN
    IF NEW.status = OLD.status THEN
        -- Not a status change (e.g. a lease renewal): the record of the latest change stays as it is.
        IF (NEW.version, NEW.changed_by, NEW.changed_by_kind, NEW.change_reason, NEW.change_details)
           IS DISTINCT FROM
           (OLD.version, OLD.changed_by, OLD.changed_by_kind, OLD.change_reason, OLD.change_details) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL012',
                MESSAGE = format('event %s: version and the record of its latest change move only with a status change', OLD.id),
                DETAIL = 'version, changed_by, changed_by_kind, change_reason and change_details describe the latest status change.',
                HINT = 'Change them together with status; the audit trail keeps every earlier change.';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO v_rule FROM ledger.transitions t
     WHERE t.from_status = OLD.status AND t.to_status = NEW.status;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot go from %s to %s', OLD.id, OLD.status, NEW.status),
            DETAIL = 'The allowed status changes are the rows of ledger.transitions.',
            HINT = ledger._transition_hint(OLD.id, OLD.status);
    END IF;
    IF current_user <> 'agentledger_owner' THEN
        -- A raw UPDATE, not one of the api functions (which run as the owner): whatever the row
        -- claims, the change is the database user's; a reason counts only if this UPDATE gave it.
        NEW.version := OLD.version + 1;
        NEW.changed_by := session_user;
        NEW.changed_by_kind := 'human';
        IF NEW.change_reason IS NOT DISTINCT FROM OLD.change_reason THEN
            NEW.change_reason := NULL;
        END IF;
        IF NEW.change_details IS NOT DISTINCT FROM OLD.change_details THEN
            NEW.change_details := NULL;
        END IF;
    ELSIF NEW.version <> OLD.version + 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('event %s: version must go from %s to %s with this status change',
                             OLD.id, OLD.version, OLD.version + 1),
            DETAIL = format('The UPDATE set version to %s.', NEW.version),
            HINT = 'Set version = version + 1 with each status change.';
    END IF;
    IF v_rule.reason_required AND coalesce(btrim(NEW.change_reason), '') = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = format('event %s: moving from %s to %s (%s) needs a reason',
                             OLD.id, OLD.status, NEW.status, v_rule.name),
            DETAIL = 'No reason was given, or it was blank.',
            HINT = 'Pass a reason saying why; it is kept in the audit trail.';
    END IF;
    IF NEW.updated_at = OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._check_status_change() IS
    'Trigger: refuses a status change not in ledger.transitions (AL003) or missing a required reason (AL008), and attributes raw updates (not made through the api functions) to session_user.';
-- end db/functions/_check_status_change.sql

-- begin db/functions/_audit_submits.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._audit_submits() RETURNS trigger
LANGUAGE plpgsql AS $$
-- AFTER INSERT ... FOR EACH STATEMENT: one set-based pass per statement, so a batch of 1,000
-- costs one audit INSERT, not 1,000 trigger calls.
DECLARE
    v_bad record;
    v_trusted boolean := current_user = 'agentledger_owner';
BEGIN
    SELECT n.id, n.customer_id, n.status, n.event_type, t.name IS NULL AS unknown_type,
           octet_length(n.payload::text) AS bytes, s.max_payload_bytes
      INTO v_bad
      FROM new_events n
     CROSS JOIN ledger.settings s
      LEFT JOIN ledger.event_types t ON t.name = n.event_type
     WHERE n.status <> 'queued' OR t.name IS NULL OR octet_length(n.payload::text) > s.max_payload_bytes
     LIMIT 1;
    IF FOUND AND v_bad.status <> 'queued' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot start as %s', v_bad.id, v_bad.status),
            DETAIL = 'Every event enters the lifecycle as queued.',
            HINT = 'Insert it as queued; later changes follow ledger.transitions.';
    ELSIF FOUND AND v_bad.unknown_type THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', quote_literal(v_bad.event_type)),
            DETAIL = 'Events must be of a type registered in ledger.event_types.',
            HINT = 'A DBA adds one with INSERT INTO ledger.event_types (name, description).';
    ELSIF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('payload of %s bytes for customer %s is larger than the limit of %s bytes',
                             v_bad.bytes, v_bad.customer_id, v_bad.max_payload_bytes),
            DETAIL = 'The size is measured as JSON text.',
            HINT = 'Store large documents elsewhere and put a reference in the payload, or raise ledger.settings.max_payload_bytes.';
    END IF;

    -- Through the api functions (running as the owner) the row names its actor; a raw INSERT by
    -- anyone else is attributed to the database user, whatever the row claims.
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at,
                                  prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT r.seq, r.customer_id, r.id, r.version, NULL, r.status, r.actor, r.kind, session_user,
           r.change_reason, r.change_details, r.attempts, r.recorded_at, NULL,
           ledger._audit_hash(NULL, r.seq, r.customer_id, r.id, r.version, NULL, r.status,
                              r.actor, r.kind, session_user, r.change_reason, r.change_details,
                              r.attempts, r.recorded_at)
      FROM (SELECT n.*, nextval('ledger.audit_log_seq_seq') AS seq, now() AS recorded_at,
                   CASE WHEN v_trusted THEN n.changed_by ELSE session_user END AS actor,
                   CASE WHEN v_trusted THEN n.changed_by_kind ELSE 'human' END AS kind
              FROM new_events n) r;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_submits() IS
    'Trigger: writes the first audit row (the submit) of each new event, and refuses events of unregistered types (AL002), oversized payloads (AL005) and events not starting as queued (AL003).';
-- end db/functions/_audit_submits.sql

-- begin db/functions/_audit_status_changes.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._audit_status_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: one audit row per event whose status changed, chained to the
-- previous row of that event. The event row is locked by the UPDATE, so its chain head is stable.
BEGIN
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at,
                                  prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT c.seq, c.customer_id, c.id, c.version, c.from_status, c.status, c.changed_by,
           c.changed_by_kind, session_user, c.change_reason, c.change_details, c.attempts,
           c.recorded_at, c.prev_hash,
           ledger._audit_hash(c.prev_hash, c.seq, c.customer_id, c.id, c.version, c.from_status,
                              c.status, c.changed_by, c.changed_by_kind, session_user,
                              c.change_reason, c.change_details, c.attempts, c.recorded_at)
      FROM (SELECT n.*, o.status AS from_status, nextval('ledger.audit_log_seq_seq') AS seq,
                   now() AS recorded_at,
                   (SELECT a.hash FROM ledger.audit_log a
                     WHERE a.event_id = n.id ORDER BY a.seq DESC LIMIT 1) AS prev_hash
              FROM new_events n JOIN old_events o ON o.id = n.id
             WHERE n.status <> o.status) c;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_status_changes() IS
    'Trigger: writes one hash-chained audit row per event whose status an UPDATE changed, whoever wrote it.';
-- end db/functions/_audit_status_changes.sql

CREATE TRIGGER _050_refuse_write_once_change
    BEFORE UPDATE OF id, customer_id, event_type, payload, idempotency_key, correlation_id,
                     caused_by_event_id, created_at
    ON ledger.events FOR EACH ROW EXECUTE FUNCTION ledger._refuse_write_once_change();
CREATE TRIGGER _100_check_status_change
    BEFORE UPDATE OF status, version, changed_by, changed_by_kind, change_reason, change_details
    ON ledger.events
    FOR EACH ROW EXECUTE FUNCTION ledger._check_status_change();
CREATE TRIGGER _500_audit_submits AFTER INSERT ON ledger.events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._audit_submits();
CREATE TRIGGER _500_audit_status_changes AFTER UPDATE ON ledger.events
    REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._audit_status_changes();

CREATE TRIGGER _050_refuse_delete BEFORE DELETE ON ledger.events
    FOR EACH ROW EXECUTE FUNCTION ledger._refuse_event_delete();
CREATE TRIGGER _050_refuse_truncate BEFORE TRUNCATE ON ledger.events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_event_delete();

ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_delete;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_truncate;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _050_refuse_write_once_change;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _100_check_status_change;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _500_audit_submits;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _500_audit_status_changes;

-- Events are records, never removed; privileges say so too, even to the owner.
REVOKE DELETE, TRUNCATE ON ledger.events FROM agentledger_owner;

COMMIT;
