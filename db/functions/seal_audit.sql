CREATE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
LANGUAGE sql IMMUTABLE
RETURN ROW(s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'),
           encode(s.digest, 'hex'), s.sealed_by, s.sealed_at)::api.seal;
COMMENT ON FUNCTION ledger._as_api_seal(ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';

CREATE FUNCTION api.seal_audit(p_actor text DEFAULT NULL) RETURNS api.seal
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := ledger._checked_actor(p_actor);
    v_last ledger.audit_seals;
    v_seal ledger.audit_seals;
BEGIN
    -- A snapshot older than the lock below would miss rows committed while waiting for it.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL014',
            MESSAGE = format('api.seal_audit must run at READ COMMITTED, not %s',
                             upper(current_setting('transaction_isolation'))),
            DETAIL = 'At a stricter isolation level the seal could miss rows committed while it waited for writers.',
            HINT = 'Call it in its own READ COMMITTED transaction (the default).';
    END IF;
    -- Every audit writer holds this lock shared until it commits: taking it exclusively waits for
    -- them and holds new ones back, so no row can still commit with a seq inside the new seal.
    PERFORM pg_advisory_xact_lock(hashtextextended('agentledger.audit_seal', 0));
    SELECT * INTO v_last FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;

    INSERT INTO ledger.audit_seals (first_seq, last_seq, row_count, prev_digest, digest, sealed_by)
    SELECT min(a.seq), max(a.seq), count(*), v_last.digest,
           sha256(coalesce(v_last.digest, ''::bytea) || string_agg(a.hash, ''::bytea ORDER BY a.seq)),
           v_actor
      FROM ledger.audit_log a
     WHERE a.seq > coalesce(v_last.last_seq, 0)
    HAVING count(*) > 0
    RETURNING * INTO v_seal;

    IF v_seal.id IS NULL THEN
        v_seal := v_last;  -- nothing new since the latest seal; it still covers everything
    END IF;
    RETURN ledger._as_api_seal(v_seal);
END
$$;
COMMENT ON FUNCTION api.seal_audit(text) IS
    'Seals every audit row since the previous seal (sha256 over their hashes, chained to that seal) and returns the new seal, or the latest one when nothing is new (NULL before any audit row). Writers wait while it runs: seal often.';
GRANT EXECUTE ON FUNCTION api.seal_audit(text) TO agentledger_worker, agentledger_auditor;

CREATE FUNCTION api.latest_seal() RETURNS api.seal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
END;
COMMENT ON FUNCTION api.latest_seal() IS
    'The latest audit seal (NULL when there is none): export its digest to storage the database cannot change.';
GRANT EXECUTE ON FUNCTION api.latest_seal() TO agentledger_api, agentledger_worker, agentledger_auditor;
