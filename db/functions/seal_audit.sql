CREATE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
LANGUAGE sql IMMUTABLE
RETURN ROW(s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'),
           encode(s.digest, 'hex'), s.sealed_by, s.sealed_at)::api.seal;
COMMENT ON FUNCTION ledger._as_api_seal(ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';

CREATE FUNCTION api.seal_audit(p_actor text DEFAULT NULL) RETURNS api.seal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Asks for a seal of everything written so far, then seals every request whose transactions have
-- all finished (at once when nothing else was running). Writers never wait for a seal.
DECLARE
    v_actor text := ledger._checked_actor(p_actor);
    v_up_to bigint;
    v_request ledger.seal_requests;
    v_last ledger.audit_seals;
    v_oldest_running xid8;
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
    LOCK TABLE ledger.seal_requests IN SHARE ROW EXCLUSIVE MODE;  -- one sealer at a time

    -- Read the sequence first, then take a transaction id: a writer draws a seq only after it has
    -- its own transaction id, so every one that drew a seq up to v_up_to has an older id.
    SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END INTO v_up_to FROM ledger.audit_log_seq_seq q;
    INSERT INTO ledger.seal_requests (up_to_seq, horizon, requested_by)
    VALUES (v_up_to, pg_current_xact_id(), v_actor);

    FOR v_request IN SELECT * FROM ledger.seal_requests r ORDER BY r.id LOOP
        -- Sealable once no transaction older than the horizon is running, as this statement's
        -- snapshot sees it, so the statements after it see all their rows.
        SELECT pg_snapshot_xmin(pg_current_snapshot()) INTO v_oldest_running;
        EXIT WHEN v_oldest_running < v_request.horizon;
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

CREATE FUNCTION api.latest_seal() RETURNS api.seal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
END;
COMMENT ON FUNCTION api.latest_seal() IS
    'The latest audit seal (NULL when there is none): export its digest to storage the database cannot change.';
GRANT EXECUTE ON FUNCTION api.latest_seal() TO agentledger_api, agentledger_worker, agentledger_auditor;
