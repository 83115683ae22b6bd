-- Deploy agentledger:functions/_refuse_unknown_event to pg
-- Written by agentledger/function_changes.py from db/functions/_refuse_unknown_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_unknown_event.sql
CREATE OR REPLACE FUNCTION ledger._refuse_unknown_event(p_event_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL001',
        MESSAGE = format('event %s does not exist', coalesce(p_event_id::text, 'NULL')),
        DETAIL = 'No event has this id.',
        HINT = 'Check the id; api.list_events shows existing events.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_unknown_event(bigint) IS 'Raises AL001: no event has this id.';
-- end db/functions/_refuse_unknown_event.sql

COMMIT;
