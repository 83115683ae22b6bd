-- Deploy agentledger:triggers/events to pg
-- Notes: an api function may record a change that keeps the status (version + 1, an audit row of its
-- own) where ledger.transitions has a same-status row, e.g. the first of two approvals or a missed
-- deadline. The row trigger checks notes (its WHEN clause lets same-status writes through); the
-- audit trigger writes a row for every event whose version moved. The triggers stay as @v0.3.0
-- made them; only the two trigger functions are replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_check_status_change.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._check_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE UPDATE OF status, for every writer (functions, raw UPDATEs, the owner in psql), except
-- writes made as the owner that change the status and set updated_at: the trigger's WHEN clause
-- leaves those rows to ledger._audit_status_changes, which checks them once per statement.
DECLARE
    v_rule ledger.transitions;
BEGIN
    IF NEW.status = OLD.status AND (NEW.version = OLD.version OR current_user <> 'agentledger_owner') THEN
        -- Not a status change (e.g. a lease renewal): the record of the latest change stays as it is.
        -- (A note, an audited change that keeps the status, is made only by the api functions.)
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
    -- A status change, or a note (same status, version + 1): allowed if ledger.transitions lists it.
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
        -- Attempts as the api functions count them, so a raw change cannot strand an event: given
        -- back to the queue, the attempt is returned (else at the last attempt it could never be
        -- claimed again); decided, its follow-up action starts its own count.
        IF OLD.status = 'processing' AND NEW.status = 'queued' THEN
            NEW.attempts := greatest(OLD.attempts - 1, 0);
        ELSIF NEW.status IN ('approved', 'rejected') THEN
            NEW.attempts := 0;
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
    'Trigger: refuses a status change or note not in ledger.transitions (AL003) or missing a required reason (AL008), and attributes raw updates (not made through the api functions) to session_user. Owner writes that change the status and set updated_at are checked by ledger._audit_status_changes instead.';
-- end db/functions/_check_status_change.sql

-- begin db/functions/_audit_status_changes.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._audit_status_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: checks the status changes the row trigger left to it, then
-- writes one audit row per event whose version moved (a status change, or a note that keeps the
-- status), chained to the previous row of that event. The event row is locked by the UPDATE, so its
-- chain head is stable. (Notes are checked by the row trigger, which sees every same-status write.)
DECLARE
    v_bad record;
BEGIN
    -- A statement that changed no status and no version (a heartbeat, a claim that found nothing)
    -- must not touch the audit table at all: its write lock would make seals and live readers wait
    -- for this transaction to end.
    IF NOT EXISTS (SELECT 1 FROM new_events n JOIN old_events o ON o.id = n.id
                    WHERE n.status <> o.status OR n.version <> o.version) THEN
        RETURN NULL;
    END IF;
    -- The rules of ledger._check_status_change for writes made as the owner (the api functions)
    -- that change the status and set updated_at: the row trigger skips those rows (its WHEN
    -- clause), and they are checked here, once per statement instead of once per row. Rows the
    -- row trigger saw pass again. Any refusal undoes the whole statement.
    SELECT n.id, o.status AS from_status, n.status AS to_status, o.version AS old_version,
           n.version AS new_version, t.from_status IS NOT NULL AS allowed, t.name
      INTO v_bad
      FROM new_events n
      JOIN old_events o ON o.id = n.id
      LEFT JOIN ledger.transitions t ON t.from_status = o.status AND t.to_status = n.status
     WHERE n.status <> o.status
       AND (t.from_status IS NULL OR n.version <> o.version + 1
            OR t.reason_required AND coalesce(btrim(n.change_reason), '') = '')
     ORDER BY n.id
     LIMIT 1;
    IF FOUND THEN
        IF NOT v_bad.allowed THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL003',
                MESSAGE = format('event %s cannot go from %s to %s', v_bad.id, v_bad.from_status, v_bad.to_status),
                DETAIL = 'The allowed status changes are the rows of ledger.transitions.',
                HINT = ledger._transition_hint(v_bad.id, v_bad.from_status);
        ELSIF v_bad.new_version <> v_bad.old_version + 1 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL010',
                MESSAGE = format('event %s: version must go from %s to %s with this status change',
                                 v_bad.id, v_bad.old_version, v_bad.old_version + 1),
                DETAIL = format('The UPDATE set version to %s.', v_bad.new_version),
                HINT = 'Set version = version + 1 with each status change.';
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = 'AL008',
                MESSAGE = format('event %s: moving from %s to %s (%s) needs a reason',
                                 v_bad.id, v_bad.from_status, v_bad.to_status, v_bad.name),
                DETAIL = 'No reason was given, or it was blank.',
                HINT = 'Pass a reason saying why; it is kept in the audit trail.';
        END IF;
    END IF;
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
             WHERE n.version <> o.version) c;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_status_changes() IS
    'Trigger: refuses the status changes of owner writes that ledger.transitions does not allow (AL003), that do not move version by one (AL010) or lack a required reason (AL008), then writes one hash-chained audit row per event whose status an UPDATE changed (or that it noted: same status, version + 1), whoever wrote it.';
-- end db/functions/_audit_status_changes.sql

COMMIT;
