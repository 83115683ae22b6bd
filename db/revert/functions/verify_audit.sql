-- Revert agentledger:functions/verify_audit from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/verify_audit.sql
CREATE OR REPLACE FUNCTION api.verify_audit(p_event_id bigint DEFAULT NULL) RETURNS api.audit_verdict
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

COMMIT;
