-- Deploy agentledger:tables/event_types to pg
-- Registered event types: DBAs add one with an INSERT. A reference table (same for every customer).
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.event_types (
    name text PRIMARY KEY
        CONSTRAINT event_types_name_format CHECK (name ~ '^[a-z][a-z0-9_.-]{0,49}$'),
    description text NOT NULL DEFAULT '',
    max_attempts integer NOT NULL DEFAULT 5
        CONSTRAINT event_types_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ledger.event_types IS
    'Registered event types. Add one with INSERT INTO ledger.event_types (name, description) VALUES (...); events of unknown types are refused.';
COMMENT ON COLUMN ledger.event_types.name IS 'Type name: lower case letters, digits, _ . -; starts with a letter; at most 50 characters.';
COMMENT ON COLUMN ledger.event_types.description IS 'What events of this type are for.';
COMMENT ON COLUMN ledger.event_types.max_attempts IS 'How many claims an event of this type gets before it fails for good.';
COMMENT ON COLUMN ledger.event_types.created_at IS 'When the type was registered.';

INSERT INTO ledger.event_types (name, description) VALUES
    ('loan_application', 'Underwrite a loan application: approve or reject, then disburse or notify.'),
    ('fraud_alert', 'Triage a fraud alert: clear it or escalate it.'),
    ('support_ticket', 'Answer or route a customer support ticket.');

-- When each type last announced new work; throttles the wake-up NOTIFY (see ledger._wake_workers).
CREATE TABLE ledger.wakeups (
    event_type text PRIMARY KEY REFERENCES ledger.event_types (name) ON DELETE CASCADE,
    last_notified_at timestamptz NOT NULL DEFAULT '-infinity'
);
COMMENT ON TABLE ledger.wakeups IS
    'When each event type last sent a wake-up NOTIFY; one row per registered type, kept by a trigger on ledger.event_types.';
COMMENT ON COLUMN ledger.wakeups.event_type IS 'The event type.';
COMMENT ON COLUMN ledger.wakeups.last_notified_at IS 'Wall-clock time of its last wake-up NOTIFY.';

-- begin db/functions/_add_wakeups.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._add_wakeups() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.wakeups (event_type) SELECT name FROM new_types;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._add_wakeups() IS 'Gives every newly registered event type its wake-up throttle row.';
-- end db/functions/_add_wakeups.sql

CREATE TRIGGER _500_add_wakeups AFTER INSERT ON ledger.event_types
    REFERENCING NEW TABLE AS new_types FOR EACH STATEMENT EXECUTE FUNCTION ledger._add_wakeups();
ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _500_add_wakeups;

-- begin db/functions/_refuse_type_removal.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_type_removal() RETURNS trigger
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

CREATE TRIGGER _100_refuse_removal BEFORE DELETE OR UPDATE OF name ON ledger.event_types
    FOR EACH ROW EXECUTE FUNCTION ledger._refuse_type_removal();
CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.event_types
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_type_removal();
ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _100_refuse_removal;
ALTER TABLE ledger.event_types ENABLE ALWAYS TRIGGER _100_refuse_truncate;

INSERT INTO ledger.wakeups (event_type) SELECT name FROM ledger.event_types;

COMMIT;
