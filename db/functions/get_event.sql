CREATE OR REPLACE FUNCTION api.get_event(p_event_id bigint, p_key text DEFAULT NULL) RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- An event a key may not read answers as one that does not exist: its existence is not told.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'get_event', p_event_id, NULL);
    v_event ledger.events;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id;
    IF NOT FOUND OR NOT ledger._may_read(v_reader, v_event) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;
COMMENT ON FUNCTION api.get_event(bigint, text) IS
    'One event by id (AL001 if there is none, or the API key p_key may not read it: ledger._may_read). An auditor''s read is recorded in ledger.access_log.';
GRANT EXECUTE ON FUNCTION api.get_event(bigint, text) TO agentledger_api, agentledger_worker, agentledger_auditor;
