-- Revert agentledger:functions/audit_feed from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/audit_feed.sql
CREATE OR REPLACE FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer DEFAULT 500)
RETURNS SETOF api.audit_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_after_seq IS NULL OR p_up_to_seq IS NULL OR p_after_seq < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = 'audit_feed needs p_after_seq >= 0, p_up_to_seq, and p_limit from 1 to 1000',
            DETAIL = format('Got p_after_seq %s, p_up_to_seq %s, p_limit %s.', p_after_seq, p_up_to_seq, p_limit),
            HINT = 'Start at 0 (or the last seq a client saw) and read up to a final position.';
    END IF;
    RETURN QUERY
    SELECT a.seq, a.event_id, a.customer_id, a.version, a.from_status, a.to_status, a.actor,
           a.actor_kind, a.db_user, a.reason, a.details, a.attempt, a.recorded_at,
           encode(a.prev_hash, 'hex'), encode(a.hash, 'hex')
      FROM ledger.audit_log a
     WHERE a.seq > p_after_seq AND a.seq <= p_up_to_seq
     ORDER BY a.seq
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.audit_feed(bigint, bigint, integer) IS
    'Audit rows with seq in (p_after_seq, p_up_to_seq], in seq order, at most p_limit (1..1000): the changes of every event, for live feeds and their resumption.';
GRANT EXECUTE ON FUNCTION api.audit_feed(bigint, bigint, integer) TO agentledger_api, agentledger_auditor;
-- end db/functions/audit_feed.sql

COMMIT;
