CREATE FUNCTION api.submit_event(
    p_customer_id text,
    p_event_type text,
    p_payload jsonb,
    p_priority integer DEFAULT 0,
    p_run_after timestamptz DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL,
    p_correlation_id uuid DEFAULT NULL,
    p_caused_by_event_id bigint DEFAULT NULL,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'agent',
    p_now timestamptz DEFAULT now())
RETURNS api.receipt
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- One implementation: a single submit is a batch of one.
BEGIN ATOMIC
    SELECT r.created, r.id, r.customer_id, r.event_type, r.status, r.priority, r.run_after,
           r.idempotency_key, r.correlation_id, r.created_at
      FROM api.submit_events(
               jsonb_build_array(jsonb_build_object(
                   'customer_id', p_customer_id, 'event_type', p_event_type, 'payload', p_payload,
                   'priority', p_priority, 'run_after', p_run_after,
                   'idempotency_key', p_idempotency_key, 'correlation_id', p_correlation_id,
                   'caused_by_event_id', p_caused_by_event_id)),
               p_actor, p_actor_kind, p_now) r;
END;
COMMENT ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz) IS
    'Submits one event (queued, one audit row, a wake-up NOTIFY unless throttled). With an idempotency key, repeating the same submit returns the original event (created = false); the same key with another body is refused (AL004).';
GRANT EXECUTE ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz)
    TO agentledger_api, agentledger_worker;
