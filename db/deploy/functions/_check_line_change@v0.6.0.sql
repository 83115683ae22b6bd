-- Deploy agentledger:functions/_check_line_change to pg
-- Written by agentledger/function_changes.py from db/functions/_check_line_change.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_check_line_change.sql
CREATE OR REPLACE FUNCTION ledger._check_line_change() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE UPDATE of what decides an event's place in its customer's line, whoever writes it: the
-- line can only move the ways the api functions move it, so a raw UPDATE cannot stall it or let
-- two events of one customer be held at once.
BEGIN
    IF NEW.ordered IS DISTINCT FROM OLD.ordered THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: whether it is ordered per customer is fixed when it is submitted', OLD.id),
            DETAIL = 'ordered comes from ledger.event_types.ordered_per_customer at submit.',
            HINT = 'Change the event type''s ordered_per_customer for events submitted from now on.';
    END IF;
    IF NEW.first_in_line IS DISTINCT FROM OLD.first_in_line AND current_user <> 'agentledger_owner' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: first_in_line is kept by the database', OLD.id),
            DETAIL = 'It marks the customer''s earliest open ordered event and moves when that one completes or is released.',
            HINT = 'To let the line go on, cancel the failed event that holds it (api.cancel_event); to put it back, re-queue it (api.requeue_event).';
    END IF;
    IF NEW.ordered AND NEW.order_released_at IS NOT NULL AND NEW.status <> 'failed' THEN
        IF OLD.order_released_at IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL003',
                MESSAGE = format('event %s is %s; only a failed ordered event can give up its place in line', OLD.id, NEW.status),
                HINT = 'Cancel a queued event (api.cancel_event): it fails and gives up its place.';
        END IF;
        NEW.order_released_at := NULL;  -- a released event leaving failed (re-queued) is back in line
    END IF;
    IF NEW.ordered AND OLD.order_released_at IS NOT NULL AND NEW.order_released_at IS NULL THEN
        -- Back in line, not first yet: the statement's ledger._settle_lines_after_write decides.
        NEW.first_in_line := NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._check_line_change() IS
    'Trigger: ordered is write-once (AL012); only the database moves first_in_line (AL012); only a failed ordered event gives up its place (AL003); a released event that is re-queued re-joins its line unsettled (first_in_line NULL).';
-- end db/functions/_check_line_change.sql

COMMIT;
