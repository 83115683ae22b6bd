-- Deploy agentledger:functions/_refuse_type_removal to pg
-- Written by agentledger/function_changes.py from db/functions/_refuse_type_removal.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_type_removal.sql
CREATE OR REPLACE FUNCTION ledger._refuse_type_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;  -- description and max_attempts may change
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'AL012',
        MESSAGE = format('%s of a registered event type refused: types are never removed or renamed', TG_OP),
        DETAIL = 'Existing events and their audit trails name their type.',
        HINT = 'Register a new type with INSERT INTO ledger.event_types and stop submitting the old one.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_type_removal() IS
    'Trigger: refuses deleting, truncating or renaming a registered event type (SQLSTATE AL012).';
-- end db/functions/_refuse_type_removal.sql

COMMIT;
