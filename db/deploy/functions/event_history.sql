-- Deploy agentledger:functions/event_history to pg
-- Written by `agentledger db functions` from db/functions/event_history.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.event_history(bigint);

-- begin db/functions/event_history.sql
CREATE OR REPLACE FUNCTION api.event_history(p_event_id bigint, p_key text DEFAULT NULL) RETURNS SETOF api.audit_entry
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'event_history', p_event_id, NULL);
BEGIN
    PERFORM ledger._refuse_unreadable_event(v_reader, p_event_id);
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at, encode(a.prev_hash, 'hex'),
           encode(a.hash, 'hex'), a.api_key
      FROM ledger.audit_log a
     WHERE a.event_id = p_event_id
     ORDER BY a.seq;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;
COMMENT ON FUNCTION api.event_history(bigint, text) IS
    'The audit trail of one event, oldest first (AL001 if there is no such event, or the API key p_key may not read it; an auditor''s read is recorded). Check it with api.verify_audit(event_id).';
GRANT EXECUTE ON FUNCTION api.event_history(bigint, text) TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/event_history.sql

COMMIT;
