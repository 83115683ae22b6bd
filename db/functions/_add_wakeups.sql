CREATE OR REPLACE FUNCTION ledger._add_wakeups() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO ledger.wakeups (event_type) SELECT name FROM new_types;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._add_wakeups() IS 'Gives every newly registered event type its wake-up throttle row.';
