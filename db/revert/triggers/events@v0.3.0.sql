-- Revert agentledger:triggers/events from pg
-- Back to the trigger functions of @v0.2.0 (db/deploy/triggers/events@v0.2.0.sql), and the row
-- trigger without its WHEN clause, so it checks every row again.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE OR REPLACE FUNCTION ledger._check_status_change() RETURNS trigger
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
    'Trigger: refuses a status change not in ledger.transitions (AL003) or missing a required reason (AL008), and attributes raw updates (not made through the api functions) to session_user.';

CREATE OR REPLACE FUNCTION ledger._audit_status_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: one audit row per event whose status changed, chained to the
-- previous row of that event. The event row is locked by the UPDATE, so its chain head is stable.
BEGIN
    -- A statement that changed no status (a heartbeat, a claim that found nothing) must not touch
    -- the audit table at all: its write lock would make seals and live readers wait for this
    -- transaction to end.
    IF NOT EXISTS (SELECT 1 FROM new_events n JOIN old_events o ON o.id = n.id WHERE n.status <> o.status) THEN
        RETURN NULL;
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
             WHERE n.status <> o.status) c;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_status_changes() IS
    'Trigger: writes one hash-chained audit row per event whose status an UPDATE changed, whoever wrote it.';

DROP TRIGGER _100_check_status_change ON ledger.events;
CREATE TRIGGER _100_check_status_change
    BEFORE UPDATE OF status, version, changed_by, changed_by_kind, change_reason, change_details
    ON ledger.events
    FOR EACH ROW EXECUTE FUNCTION ledger._check_status_change();
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _100_check_status_change;

COMMIT;
