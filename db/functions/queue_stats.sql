CREATE FUNCTION api.queue_stats(p_now timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT jsonb_build_object(
        'counts', coalesce((
            SELECT jsonb_agg(jsonb_build_object('event_type', c.event_type, 'status', c.status,
                                                'events', c.n) ORDER BY c.event_type, c.status)
              FROM (SELECT e.event_type, e.status, count(*) AS n
                      FROM ledger.events e GROUP BY e.event_type, e.status) c), '[]'::jsonb),
        'oldest_queued_at', q.oldest,
        'oldest_queued_age_seconds', round(extract(epoch FROM p_now - q.oldest)::numeric, 3),
        'decided_awaiting_action', (SELECT count(*) FROM ledger.events e
                                     WHERE e.status IN ('approved', 'rejected') AND e.lease_token IS NULL),
        'notification_queue_usage', pg_notification_queue_usage())
      FROM (SELECT min(e.created_at) AS oldest FROM ledger.events e WHERE e.status = 'queued') q;
END;
COMMENT ON FUNCTION api.queue_stats(timestamptz) IS
    'Queue statistics as JSON: counts per event type and status, the oldest queued event''s age, decided events whose follow-up action is pending, and pg_notification_queue_usage().';
GRANT EXECUTE ON FUNCTION api.queue_stats(timestamptz) TO agentledger_api, agentledger_worker, agentledger_auditor;
