-- Revert agentledger:functions/event_history_page from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.event_history_page(bigint, bigint, integer, text);

-- begin db/functions/event_history_page.sql
CREATE OR REPLACE FUNCTION api.event_history_page(p_event_id bigint, p_after_seq bigint, p_limit integer)
RETURNS SETOF api.audit_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- api.event_history a page at a time, in seq order: pass the last seq of a page as p_after_seq
-- (NULL for the first page) to get the next one.
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'A page holds 1 to 1,000 audit rows.',
            HINT = 'Pass a limit from 1 to 1000 and page on with the last seq seen.';
    END IF;
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at, encode(a.prev_hash, 'hex'),
           encode(a.hash, 'hex')
      FROM ledger.audit_log a
     WHERE a.event_id = p_event_id
       AND (p_after_seq IS NULL OR a.seq > p_after_seq)
     ORDER BY a.seq
     LIMIT p_limit;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
END
$$;
COMMENT ON FUNCTION api.event_history_page(bigint, bigint, integer) IS
    'The audit trail of one event, oldest first, a page at a time: at most p_limit rows (1 to 1000) after seq p_after_seq (AL001 if there is no such event). Check the whole chain with api.verify_audit(event_id).';
GRANT EXECUTE ON FUNCTION api.event_history_page(bigint, bigint, integer) TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/event_history_page.sql

COMMIT;
