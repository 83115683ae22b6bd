-- Deploy agentledger:functions/audit_chain to pg
-- Verifying and sealing the audit trail.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/verify_audit.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.verify_audit(p_event_id bigint DEFAULT NULL) RETURNS api.audit_verdict
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Checks, in order: every row against its hash and the row before it in its event's chain; every
-- event against the head of its chain; and (for the whole trail) every seal against the rows it
-- covers. Returns the first problem found, naming the audit row, event or seal.
DECLARE
    v_rows bigint;
    v_seals bigint := 0;
    r record;
BEGIN
    SELECT count(*) INTO v_rows FROM ledger.audit_log a WHERE p_event_id IS NULL OR a.event_id = p_event_id;
    IF p_event_id IS NOT NULL AND v_rows = 0
       AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = p_event_id) THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;

    -- 1. Rows: an edited row no longer matches its hash; a deleted row breaks the link after it.
    SELECT c.seq, c.event_id, c.problem INTO r
      FROM (SELECT a.seq, a.event_id,
                   CASE
                       WHEN a.hash IS DISTINCT FROM ledger._audit_hash(
                                a.prev_hash, a.seq, a.customer_id, a.event_id, a.version, a.from_status,
                                a.to_status, a.actor, a.actor_kind, a.db_user, a.reason, a.details,
                                a.attempt, a.recorded_at)
                           THEN format('audit row %s of event %s does not match its hash: it was changed after it was written',
                                       a.seq, a.event_id)
                       WHEN lag(a.seq) OVER w IS NULL AND a.version <> 1
                           THEN format('the audit trail of event %s starts at version %s: its earlier rows were deleted',
                                       a.event_id, a.version)
                       WHEN lag(a.seq) OVER w IS NOT NULL
                            AND (a.prev_hash IS DISTINCT FROM lag(a.hash) OVER w
                                 OR a.version <> lag(a.version) OVER w + 1)
                           THEN format('audit row %s of event %s does not follow the row before it (version %s): a row between them was deleted or changed',
                                       a.seq, a.event_id, lag(a.version) OVER w)
                   END AS problem
              FROM ledger.audit_log a
             WHERE p_event_id IS NULL OR a.event_id = p_event_id
            WINDOW w AS (PARTITION BY a.event_id ORDER BY a.seq)) c
     WHERE c.problem IS NOT NULL
     ORDER BY c.seq
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id, r.problem)::api.audit_verdict;
    END IF;

    -- 2. Events: the chain must end where the event is; deleted tail rows or a deleted chain show here.
    SELECT e.id, e.status, e.version, h.seq, h.to_status, h.version AS head_version INTO r
      FROM ledger.events e
      LEFT JOIN LATERAL (SELECT a.seq, a.to_status, a.version FROM ledger.audit_log a
                          WHERE a.event_id = e.id ORDER BY a.seq DESC LIMIT 1) h ON true
     WHERE (p_event_id IS NULL OR e.id = p_event_id)
       AND (h.seq IS NULL OR h.version <> e.version OR h.to_status <> e.status)
     ORDER BY e.id
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.id, CASE
            WHEN r.seq IS NULL THEN format('event %s has no audit trail: its rows were deleted', r.id)
            ELSE format('event %s is %s at version %s but its audit trail ends at %s, version %s (row %s): later rows were deleted or the event was changed without audit',
                        r.id, r.status, r.version, r.to_status, r.head_version, r.seq)
        END)::api.audit_verdict;
    END IF;

    -- ... and every chain must still have its event.
    SELECT a.event_id, min(a.seq) AS seq INTO r
      FROM ledger.audit_log a
     WHERE (p_event_id IS NULL OR a.event_id = p_event_id)
       AND NOT EXISTS (SELECT 1 FROM ledger.events e WHERE e.id = a.event_id)
     GROUP BY a.event_id
     ORDER BY 2
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id,
                   format('event %s has an audit trail but the event itself was deleted', r.event_id))::api.audit_verdict;
    END IF;

    IF p_event_id IS NOT NULL THEN
        RETURN ROW(true, v_rows, v_seals, NULL, NULL, NULL)::api.audit_verdict;
    END IF;

    -- 3. Seals. The first seal covers every row before it: an older row outside it came later.
    SELECT a.seq, a.event_id INTO r
      FROM ledger.audit_log a
     WHERE a.seq < (SELECT min(s.first_seq) FROM ledger.audit_seals s)
     ORDER BY a.seq
     LIMIT 1;
    IF FOUND THEN
        RETURN ROW(false, v_rows, v_seals, r.seq, r.event_id,
                   format('audit row %s is older than the first seal but not in it: it was added afterwards', r.seq))::api.audit_verdict;
    END IF;
    -- Recompute each seal's digest from the rows in its range, in one pass over the trail.
    FOR r IN
        WITH seals AS (
            SELECT s.*, row_number() OVER (ORDER BY s.id) AS n, lag(s.digest) OVER (ORDER BY s.id) AS expected_prev
              FROM ledger.audit_seals s),
        bounds AS (SELECT array_agg(first_seq ORDER BY id) AS firsts, max(last_seq) AS top FROM seals),
        found AS (
            SELECT width_bucket(a.seq, b.firsts) AS n, count(*) AS row_count,
                   string_agg(a.hash, ''::bytea ORDER BY a.seq) AS hashes
              FROM ledger.audit_log a, bounds b
             WHERE a.seq BETWEEN b.firsts[1] AND b.top
             GROUP BY 1)
        SELECT s.id, s.first_seq, s.last_seq, s.row_count AS sealed_rows, coalesce(f.row_count, 0) AS found_rows,
               s.prev_digest IS NOT DISTINCT FROM s.expected_prev AS linked,
               s.digest = sha256(coalesce(s.prev_digest, ''::bytea) || coalesce(f.hashes, ''::bytea)) AS matches
          FROM seals s LEFT JOIN found f ON f.n = s.n
         ORDER BY s.id
    LOOP
        v_seals := v_seals + 1;
        IF NOT r.linked THEN
            RETURN ROW(false, v_rows, v_seals, r.first_seq, NULL,
                       format('seal %s does not follow the seal before it: seals were changed or deleted', r.id))::api.audit_verdict;
        ELSIF NOT r.matches OR r.found_rows <> r.sealed_rows THEN
            RETURN ROW(false, v_rows, v_seals, r.first_seq, NULL,
                       format('seal %s covers audit rows %s to %s: it sealed %s rows, %s are there and their hashes no longer match: rows were deleted, added or changed',
                              r.id, r.first_seq, r.last_seq, r.sealed_rows, r.found_rows))::api.audit_verdict;
        END IF;
    END LOOP;
    RETURN ROW(true, v_rows, v_seals, NULL, NULL, NULL)::api.audit_verdict;
END
$$;
COMMENT ON FUNCTION api.verify_audit(bigint) IS
    'Verifies the audit trail (of one event, or all of it with its seals). ok = false names the first broken audit row, event or seal and says what is wrong: an edited row, a deleted middle row, deleted tail rows, a deleted chain.';
GRANT EXECUTE ON FUNCTION api.verify_audit(bigint) TO agentledger_api, agentledger_auditor;
-- end db/functions/verify_audit.sql

-- begin db/functions/seal_audit.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
LANGUAGE sql IMMUTABLE
RETURN ROW(s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'),
           encode(s.digest, 'hex'), s.sealed_by, s.sealed_at)::api.seal;
COMMENT ON FUNCTION ledger._as_api_seal(ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';

CREATE FUNCTION api.seal_audit(p_actor text DEFAULT NULL) RETURNS api.seal
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

CREATE FUNCTION api.latest_seal() RETURNS api.seal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
END;
COMMENT ON FUNCTION api.latest_seal() IS
    'The latest audit seal (NULL when there is none): export its digest to storage the database cannot change.';
GRANT EXECUTE ON FUNCTION api.latest_seal() TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/seal_audit.sql

COMMIT;
