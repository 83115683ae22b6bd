-- Deploy agentledger:functions/queue_stats to pg
-- Written by agentledger/function_changes.py from db/functions/queue_stats.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/queue_stats.sql
CREATE OR REPLACE FUNCTION api.queue_stats(p_now timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT jsonb_build_object(
        'counts', coalesce((
            SELECT jsonb_agg(jsonb_build_object('event_type', c.event_type, 'status', c.status,
                                                'events', c.n) ORDER BY c.event_type, c.status)
              FROM (SELECT e.event_type, e.status, count(*) AS n
                      FROM ledger.events e GROUP BY e.event_type, e.status) c), '[]'::jsonb),
        'oldest_runnable_since', q.oldest,
        'oldest_queued_age_seconds', coalesce(round(extract(epoch FROM ledger._checked_now(p_now) - q.oldest)::numeric, 3), 0),
        'decided_awaiting_action', (SELECT count(*) FROM ledger.events e
                                     WHERE e.status IN ('approved', 'rejected') AND e.lease_token IS NULL),
        -- Held past their lease: their holder has stopped; the rescue frees them.
        'leases_expired', (SELECT count(*) FROM ledger.events e
                            WHERE e.lease_token IS NOT NULL AND e.lease_expires_at <= ledger._checked_now(p_now)),
        'deadline_breaches', coalesce((
            SELECT jsonb_agg(jsonb_build_object('event_type', b.event_type, 'deadline', b.deadline,
                                                'events', b.n, 'open', b.open) ORDER BY b.event_type, b.deadline)
              FROM (SELECT e.event_type, d.deadline, count(*) AS n, count(*) FILTER (WHERE d.open) AS open
                      FROM ledger.events e
                     CROSS JOIN LATERAL (VALUES ('decide', e.decide_breached_at, e.status IN ('queued', 'processing')),
                                                ('review', e.review_breached_at, e.status = 'in_review'))
                                        AS d (deadline, breached_at, open)
                     WHERE d.breached_at IS NOT NULL
                     GROUP BY e.event_type, d.deadline) b), '[]'::jsonb),
        -- Ordered events held back by an earlier failed one of their customer (see api.list_blocked).
        'ordered_blocked', coalesce((
            SELECT jsonb_agg(jsonb_build_object('event_type', b.event_type, 'events', b.n) ORDER BY b.event_type)
              FROM (SELECT e.event_type, count(*) AS n FROM ledger.events e
                     WHERE e.ordered AND e.status = 'queued'
                       AND EXISTS (SELECT 1 FROM ledger.events f
                                    WHERE f.customer_id = e.customer_id AND f.ordered AND f.id < e.id
                                      AND f.status = 'failed' AND f.order_released_at IS NULL)
                     GROUP BY e.event_type) b), '[]'::jsonb),
        'notification_queue_usage', pg_notification_queue_usage())
      -- How long the longest-waiting runnable event has waited: since its run_after, not its submit.
      FROM (SELECT min(e.run_after) AS oldest FROM ledger.events e
             WHERE e.status = 'queued' AND e.run_after <= ledger._checked_now(p_now)) q;
END;
COMMENT ON FUNCTION api.queue_stats(timestamptz) IS
    'Queue statistics as JSON: counts per event type and status, how long the longest-waiting runnable event has waited (0 when none), decided events whose follow-up action is pending, leases that expired and wait for the rescue, deadline breaches per type and deadline (all, and those still open), ordered events held back by a failed one, and pg_notification_queue_usage().';
GRANT EXECUTE ON FUNCTION api.queue_stats(timestamptz) TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/queue_stats.sql

COMMIT;
