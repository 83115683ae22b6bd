-- Deploy agentledger:functions/_checked_status to pg
-- Written by `agentledger db functions` from db/functions/_checked_status.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_checked_status.sql
CREATE OR REPLACE FUNCTION ledger._checked_status(p_status text) RETURNS ledger.event_status
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- The labels are read from the type, so a status added later (in_review) is known here too.
BEGIN
    IF p_status IS NULL OR NOT p_status = ANY (enum_range(NULL::ledger.event_status)::text[]) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown status %s', coalesce(quote_literal(p_status), 'NULL')),
            DETAIL = 'An event status is one of the labels of type ledger.event_status.',
            HINT = format('Use one of: %s.', array_to_string(enum_range(NULL::ledger.event_status), ', '));
    END IF;
    RETURN p_status::ledger.event_status;
END
$$;
COMMENT ON FUNCTION ledger._checked_status(text) IS 'Turns text into an event status, refusing unknown ones (AL020).';
-- end db/functions/_checked_status.sql

COMMIT;
