-- Deploy agentledger:functions/_require_status to pg
-- Written by agentledger/function_changes.py from db/functions/_require_status.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_require_status.sql
CREATE OR REPLACE FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text)
RETURNS void
LANGUAGE plpgsql AS $$
-- Locks the event and refuses unless it is in p_status: for steps that are one transition only.
DECLARE
    v_status ledger.event_status;
BEGIN
    SELECT e.status INTO v_status FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    ELSIF v_status <> p_status THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is %s; only %s events can be %s', p_event_id, v_status, p_status, p_verb),
            DETAIL = 'This step is a single transition of the lifecycle.',
            HINT = ledger._transition_hint(p_event_id, v_status);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._require_status(bigint, ledger.event_status, text) IS
    'Locks an event and refuses (AL001, AL003) unless it has the given status.';
-- end db/functions/_require_status.sql

COMMIT;
