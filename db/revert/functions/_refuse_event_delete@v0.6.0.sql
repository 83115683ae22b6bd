-- Revert agentledger:functions/_refuse_event_delete from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_event_delete.sql
CREATE OR REPLACE FUNCTION ledger._refuse_event_delete() RETURNS trigger
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

COMMIT;
