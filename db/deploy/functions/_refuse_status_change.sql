-- Deploy agentledger:functions/_refuse_status_change to pg
-- Written by `agentledger db functions` from db/functions/_refuse_status_change.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_status_change.sql
CREATE OR REPLACE FUNCTION ledger._refuse_status_change(
    p_problem text, p_event_id bigint, p_from ledger.event_status, p_to ledger.event_status,
    p_old_version integer, p_new_version integer, p_step text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- The one refusal of both status triggers, for a problem named by ledger._status_change_problem.
BEGIN
    CASE p_problem
    WHEN 'transition' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot go from %s to %s', p_event_id, p_from, p_to),
            DETAIL = 'The allowed status changes are the rows of ledger.transitions.',
            HINT = ledger._transition_hint(p_event_id, p_from);
    WHEN 'version' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: version must go from %s to %s with this status change',
                             p_event_id, p_old_version, p_old_version + 1),
            DETAIL = format('The UPDATE set version to %s.', p_new_version),
            HINT = 'Set version = version + 1 with each status change.';
    WHEN 'reason' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = format('event %s: moving from %s to %s (%s) needs a reason', p_event_id, p_from, p_to, p_step),
            DETAIL = 'No reason was given, or it was blank.',
            HINT = 'Pass a reason saying why; it is kept in the audit trail.';
    END CASE;
END
$$;
COMMENT ON FUNCTION ledger._refuse_status_change(text, bigint, ledger.event_status, ledger.event_status, integer, integer, text) IS
    'Raises the refusal of a status change for a problem of ledger._status_change_problem: AL003 (transition), AL012 (version), AL008 (reason).';
-- end db/functions/_refuse_status_change.sql

COMMIT;
