-- Deploy agentledger:functions/audit_feed to pg
-- Reading the audit trail as a live feed (the API's event stream), in seq order, without ever
-- skipping a row whose transaction commits after a higher seq was read.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/audit_feed.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.audit_feed_position(p_waiting text[] DEFAULT '{}')
RETURNS TABLE (last_seq bigint, writers text[], still_writing text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- Where the audit sequence stands, which transactions are writing audit rows now (they hold a
    -- write lock on the table from before they draw a seq until they end), and which of p_waiting
    -- (writers listed by an earlier call) still are. Rows up to an earlier last_seq are final once
    -- none of the writers listed with it is still writing: a reader that delivers rows in seq
    -- order only up to such a point never skips a row that commits late.
    SELECT (SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END FROM ledger.audit_log_seq_seq q),
           coalesce((SELECT array_agg(DISTINCT l.virtualtransaction ORDER BY l.virtualtransaction)
                       FROM pg_locks l
                      WHERE l.locktype = 'relation' AND l.relation = 'ledger.audit_log'::regclass
                        AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                        AND l.mode = 'RowExclusiveLock' AND l.pid IS DISTINCT FROM pg_backend_pid()), '{}'),
           coalesce((SELECT array_agg(DISTINCT l.virtualtransaction ORDER BY l.virtualtransaction)
                       FROM pg_locks l WHERE l.virtualtransaction = ANY (p_waiting)), '{}');
END;
COMMENT ON FUNCTION api.audit_feed_position(text[]) IS
$$For readers that follow the audit trail live: the last seq handed out, the transactions writing
audit rows now, and which of p_waiting still are. Read the position, and deliver rows up to its
last_seq once none of its writers is still writing; see api.audit_feed.$$;
GRANT EXECUTE ON FUNCTION api.audit_feed_position(text[]) TO agentledger_api, agentledger_auditor;

CREATE FUNCTION api.audit_feed(p_after_seq bigint, p_up_to_seq bigint, p_limit integer DEFAULT 500)
RETURNS SETOF api.audit_entry
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_after_seq IS NULL OR p_up_to_seq IS NULL OR p_after_seq < 0 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
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
