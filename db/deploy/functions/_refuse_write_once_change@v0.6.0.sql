-- Deploy agentledger:functions/_refuse_write_once_change to pg
-- Written by agentledger/function_changes.py from db/functions/_refuse_write_once_change.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_write_once_change.sql
CREATE OR REPLACE FUNCTION ledger._refuse_write_once_change() RETURNS trigger
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

COMMIT;
