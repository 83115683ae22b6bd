-- Revert agentledger:functions/get_event from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.get_event(bigint, text);

-- begin db/functions/get_event.sql
CREATE OR REPLACE FUNCTION api.get_event(p_event_id bigint) RETURNS api.event
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_event ledger.events;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;
COMMENT ON FUNCTION api.get_event(bigint) IS 'One event by id (AL001 if there is none).';
GRANT EXECUTE ON FUNCTION api.get_event(bigint) TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/get_event.sql

COMMIT;
