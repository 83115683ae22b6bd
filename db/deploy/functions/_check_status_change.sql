-- Deploy agentledger:functions/_check_status_change to pg
-- Written by `agentledger db functions` from db/functions/_check_status_change.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_check_status_change.sql
CREATE OR REPLACE FUNCTION ledger._check_status_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- BEFORE UPDATE OF status, for every writer (functions, raw UPDATEs, the owner in psql), except
-- writes made as the owner that change the status and set updated_at: the trigger's WHEN clause
-- leaves those rows to ledger._audit_status_changes, which checks them once per statement.
DECLARE
    v_rule ledger.transitions;
    v_allowed boolean;
    v_problem text;
BEGIN
    IF NEW.status = OLD.status AND (NEW.version = OLD.version OR current_user <> 'agentledger_owner') THEN
        -- Not a status change (e.g. a lease renewal): the record of the latest change stays as it is.
        -- (A note, an audited change that keeps the status, is made only by the api functions.)
        IF (NEW.version, NEW.changed_by, NEW.changed_by_kind, NEW.changed_by_key, NEW.change_reason,
            NEW.change_details)
           IS DISTINCT FROM
           (OLD.version, OLD.changed_by, OLD.changed_by_kind, OLD.changed_by_key, OLD.change_reason,
            OLD.change_details) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL012',
                MESSAGE = format('event %s: version and the record of its latest change move only with a status change', OLD.id),
                DETAIL = 'version, changed_by, changed_by_kind, changed_by_key, change_reason and change_details describe the latest status change.',
                HINT = 'Change them together with status; the audit trail keeps every earlier change.';
        END IF;
        RETURN NEW;
    END IF;
    -- A status change, or a note (same status, version + 1): allowed if ledger.transitions lists it.
    SELECT * INTO v_rule FROM ledger.transitions t
     WHERE t.from_status = OLD.status AND t.to_status = NEW.status;
    v_allowed := FOUND;
    IF v_allowed AND current_user <> 'agentledger_owner' THEN
        -- A raw UPDATE, not one of the api functions (which run as the owner): whatever the row
        -- claims, the change is the database user's; a reason counts only if this UPDATE gave it.
        NEW.version := OLD.version + 1;
        NEW.changed_by := session_user;
        NEW.changed_by_kind := 'human';
        NEW.changed_by_key := NULL;
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
    END IF;
    v_problem := ledger._status_change_problem(v_allowed, v_rule.reason_required, OLD.version, NEW.version,
                                               NEW.change_reason);
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._refuse_status_change(v_problem, OLD.id, OLD.status, NEW.status, OLD.version,
                                             NEW.version, v_rule.name);
    END IF;
    IF NEW.updated_at = OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._check_status_change() IS
    'Trigger: refuses a status change or note by the rules of ledger._status_change_problem (AL003, AL012, AL008), and attributes raw updates (not made through the api functions) to session_user. Owner writes that change the status and set updated_at are checked by ledger._audit_status_changes instead.';
-- end db/functions/_check_status_change.sql

COMMIT;
