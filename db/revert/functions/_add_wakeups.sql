-- Revert agentledger:functions/_add_wakeups from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_add_wakeups.sql
CREATE OR REPLACE FUNCTION ledger._add_wakeups() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.wakeups (event_type) SELECT name FROM new_types;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._add_wakeups() IS 'Gives every newly registered event type its wake-up throttle row.';
-- end db/functions/_add_wakeups.sql

COMMIT;
