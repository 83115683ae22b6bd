CREATE OR REPLACE FUNCTION ledger._refuse_unreadable_event(p_reader ledger.acting, p_event_id bigint) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- A key reads an event's trail only if it may read the event; one it may not read answers as one
-- that does not exist (AL001). Logins read by their grants.
BEGIN
    IF p_reader.principal IS NOT NULL AND p_reader.key_role <> 'auditor'
       AND NOT coalesce((SELECT ledger._may_read(p_reader, e) FROM ledger.events e WHERE e.id = p_event_id), true) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._refuse_unreadable_event(ledger.acting, bigint) IS
    'Raises AL001 when the reading key may not read the event (ledger._may_read), as if it did not exist.';
