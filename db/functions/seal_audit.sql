CREATE OR REPLACE FUNCTION api.seal_audit(p_actor text DEFAULT NULL) RETURNS api.seal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Asks for a seal of everything written so far, then seals every request whose writers have all
-- ended (at once when no other transaction was writing). Writers never wait for a seal.
DECLARE
    v_actor text := ledger._checked_actor(p_actor);
    v_up_to bigint;
    v_request ledger.seal_requests;
    v_last ledger.audit_seals;
BEGIN
    -- Each step below must see what committed before it: only READ COMMITTED takes a new snapshot
    -- per statement.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL014',
            MESSAGE = format('api.seal_audit must run at READ COMMITTED, not %s',
                             upper(current_setting('transaction_isolation'))),
            DETAIL = 'At a stricter isolation level the seal would not see rows committed during the transaction.',
            HINT = 'Call it in a READ COMMITTED transaction (the default).';
    END IF;
    -- One sealer at a time; when another is at work, answer with the latest seal, never wait.
    BEGIN
        LOCK TABLE ledger.seal_requests IN SHARE ROW EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN (SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1);
    END;

    -- Read the sequence first, then list the transactions holding a write lock on the audit table:
    -- a writer takes that lock before it draws a seq and keeps it until it ends, so every writer
    -- that drew a seq up to v_up_to and is still running is on the list. This transaction's own
    -- rows need no wait: it sees them.
    SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO v_up_to FROM ledger.audit_log_seq_seq q;
    INSERT INTO ledger.seal_requests (up_to_seq, writers, requested_by)
    SELECT v_up_to, coalesce(array_agg(DISTINCT l.virtualtransaction), '{}'), v_actor
      FROM pg_locks l
     WHERE l.locktype = 'relation' AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND l.relation = 'ledger.audit_log'::regclass AND l.mode = 'RowExclusiveLock'
       AND l.pid IS DISTINCT FROM pg_backend_pid();  -- NULL: a prepared transaction

    FOR v_request IN SELECT * FROM ledger.seal_requests r ORDER BY r.id LOOP
        -- A transaction leaves the list of running ones before it lets go of its locks, so once
        -- none of the writers holds any lock, every statement after this one sees their rows.
        EXIT WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.virtualtransaction = ANY (v_request.writers));
        SELECT * INTO v_last FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
        INSERT INTO ledger.audit_seals (first_seq, last_seq, row_count, prev_digest, digest, sealed_by)
        SELECT min(a.seq), max(a.seq), count(*), v_last.digest,
               sha256(coalesce(v_last.digest, ''::bytea) || string_agg(a.hash, ''::bytea ORDER BY a.seq)),
               v_actor
          FROM ledger.audit_log a
         WHERE a.seq > coalesce(v_last.last_seq, 0) AND a.seq <= v_request.up_to_seq
        HAVING count(*) > 0;
        DELETE FROM ledger.seal_requests r WHERE r.id = v_request.id;
    END LOOP;
    RETURN (SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION api.seal_audit(text) IS
    'Seals the audit trail written so far (sha256 over the row hashes, chained to the previous seal) once the transactions still writing have finished; returns the latest seal (NULL before any). Call it regularly: a call also completes the seals asked for by earlier calls.';
GRANT EXECUTE ON FUNCTION api.seal_audit(text) TO agentledger_worker, agentledger_auditor;
