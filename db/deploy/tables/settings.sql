-- Deploy agentledger:tables/settings to pg
-- One row of settings DBAs change with an UPDATE. A reference table: no customer_id, because it is
-- the same for every customer (on Citus it becomes a reference table).
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.settings (
    singleton boolean PRIMARY KEY DEFAULT true
        CONSTRAINT settings_single_row CHECK (singleton),
    max_payload_bytes integer NOT NULL DEFAULT 1048576
        CONSTRAINT settings_max_payload_bytes_range CHECK (max_payload_bytes BETWEEN 2 AND 268435456),
    max_batch_size integer NOT NULL DEFAULT 1000
        CONSTRAINT settings_max_batch_size_range CHECK (max_batch_size BETWEEN 1 AND 100000),
    lease_duration interval NOT NULL DEFAULT '30 seconds'
        CONSTRAINT settings_lease_duration_positive CHECK (lease_duration > '0'::interval),
    notify_throttle interval NOT NULL DEFAULT '50 milliseconds'
        CONSTRAINT settings_notify_throttle_range CHECK (notify_throttle BETWEEN '0'::interval AND '1 minute'::interval)
);
INSERT INTO ledger.settings DEFAULT VALUES;

COMMENT ON TABLE ledger.settings IS 'agentledger settings: exactly one row; change a value with UPDATE ledger.settings SET ...';
COMMENT ON COLUMN ledger.settings.singleton IS 'Always true: keeps the table at one row.';
COMMENT ON COLUMN ledger.settings.max_payload_bytes IS 'Largest payload accepted, measured as its JSON text in bytes (default 1 MiB).';
COMMENT ON COLUMN ledger.settings.max_batch_size IS 'Most events one batch submit may carry (default 1,000).';
COMMENT ON COLUMN ledger.settings.lease_duration IS 'How long a claim holds an event before it may be rescued, unless renewed (default 30 s).';
COMMENT ON COLUMN ledger.settings.notify_throttle IS
    'At most one wake-up NOTIFY per event type in this interval (default 50 ms); 0 notifies on every submit. Workers also poll, so a skipped NOTIFY only delays.';

COMMIT;
