CREATE OR REPLACE FUNCTION api.mark_deadline_breaches(
    p_limit integer DEFAULT 1000,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS SETOF api.deadline_breach
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Marks each event whose deadline has passed, once: a note (an audit row that keeps the status) by
-- the principal running it, as the system, the time of the breach on the event, and one NOTIFY on
-- agentledger_escalations with the counts per deadline and type. Rows others hold are skipped
-- (a later pass takes them), so several sessions may run it at once.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_marked api.deadline_breach[];
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Mark 1 to 10000 breaches per call.';
    END IF;
    WITH late_decisions AS (
        SELECT e.customer_id, e.id, e.event_type, 'decide'::text AS deadline, e.created_at + t.decide_within AS due_at
          FROM ledger.events e JOIN ledger.event_types t ON t.name = e.event_type
         WHERE e.status IN ('queued', 'processing') AND e.decide_breached_at IS NULL
           AND e.created_at + t.decide_within <= v_now
         ORDER BY e.created_at, e.id
         LIMIT p_limit
           FOR UPDATE OF e SKIP LOCKED
    ), late_reviews AS (
        SELECT e.customer_id, e.id, e.event_type, 'review'::text AS deadline, e.review_started_at + t.review_within AS due_at
          FROM ledger.events e JOIN ledger.event_types t ON t.name = e.event_type
         WHERE e.status = 'in_review' AND e.review_breached_at IS NULL
           AND e.review_started_at + t.review_within <= v_now
         ORDER BY e.review_started_at, e.id
         LIMIT p_limit
           FOR UPDATE OF e SKIP LOCKED
    ), late AS (
        SELECT * FROM late_decisions UNION ALL SELECT * FROM late_reviews
    ), noted AS (
        UPDATE ledger.events e
           SET version = e.version + 1, changed_by = v_acting.principal, changed_by_kind = 'system',
               changed_by_key = v_acting.api_key,
               change_reason = format('%s deadline passed at %s', l.deadline, l.due_at),
               change_details = jsonb_build_object('deadline', l.deadline, 'due_at', l.due_at),
               updated_at = v_now,
               decide_breached_at = CASE WHEN l.deadline = 'decide' THEN v_now ELSE e.decide_breached_at END,
               review_breached_at = CASE WHEN l.deadline = 'review' THEN v_now ELSE e.review_breached_at END
          FROM late l
         WHERE e.customer_id = l.customer_id AND e.id = l.id
        RETURNING e.id, e.event_type, l.deadline, l.due_at
    )
    SELECT array_agg(ROW(n.id, n.event_type, n.deadline, n.due_at)::api.deadline_breach ORDER BY n.due_at, n.id)
      INTO v_marked FROM noted n;
    IF v_marked IS NOT NULL THEN
        -- Ids or counts only, never customer data; one notification per call.
        PERFORM pg_notify('agentledger_escalations', (
            SELECT jsonb_object_agg(d.deadline, d.by_type)::text
              FROM (SELECT c.deadline, jsonb_object_agg(c.event_type, c.n) AS by_type
                      FROM (SELECT m.deadline, m.event_type, count(*) AS n FROM unnest(v_marked) m
                             GROUP BY m.deadline, m.event_type) c
                     GROUP BY c.deadline) d));
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_marked);
END
$$;
COMMENT ON FUNCTION api.mark_deadline_breaches(integer, timestamptz, text) IS
$$Marks, once each, the events whose deadline of their type has passed: not decided within
decide_within of submission (queued or processing), or not reviewed within review_within of going
to review. Each gets an audit row of its own (a note, by the principal of the worker key p_key or of the login, kind system) and the time of the
breach; one NOTIFY agentledger_escalations carries the counts {"decide": {"<type>": n}, "review": ...}.
Returns the breaches marked now. Workers run it with the lease rescue; it may also be scheduled.$$;
GRANT EXECUTE ON FUNCTION api.mark_deadline_breaches(integer, timestamptz, text) TO agentledger_worker, agentledger_api;
