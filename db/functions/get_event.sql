CREATE FUNCTION api.get_event(p_event_id bigint) RETURNS api.event
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_event ledger.events;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL001',
            MESSAGE = format('event %s does not exist', p_event_id),
            DETAIL = 'No event has this id.',
            HINT = 'Check the id; api.list_events shows existing events.';
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;
COMMENT ON FUNCTION api.get_event(bigint) IS 'One event by id (AL001 if there is none).';
GRANT EXECUTE ON FUNCTION api.get_event(bigint) TO agentledger_api, agentledger_worker, agentledger_auditor;
