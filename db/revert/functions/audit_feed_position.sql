-- Revert agentledger:functions/audit_feed_position from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/audit_feed_position.sql
CREATE OR REPLACE FUNCTION api.audit_feed_position(p_waiting text[] DEFAULT '{}')
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
-- end db/functions/audit_feed_position.sql

COMMIT;
