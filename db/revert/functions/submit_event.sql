-- Revert agentledger:functions/submit_event from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, timestamptz, text);

-- begin db/functions/submit_event.sql
CREATE OR REPLACE FUNCTION api.submit_event(
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- The single-event path: the same checks as api.submit_events (ledger._submission_problem), with
-- plain values instead of a JSON batch, because single submits are the hot path.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_actor text := ledger._checked_actor(p_actor);
    v_kind ledger.actor_kind := ledger._checked_actor_kind(p_actor_kind);
    v_max_attempts integer;
    v_correlation_id uuid := p_correlation_id;
    v_problem text;
    v_event ledger.events;
BEGIN
    SELECT t.max_attempts INTO v_max_attempts FROM ledger.event_types t WHERE t.name = p_event_type;
    v_problem := ledger._submission_problem(p_customer_id, v_max_attempts IS NOT NULL, p_payload,
                                            p_priority, p_idempotency_key, p_run_after);
    IF v_problem IS NULL AND p_caused_by_event_id IS NOT NULL THEN
        SELECT coalesce(v_correlation_id, c.correlation_id) INTO v_correlation_id
          FROM ledger.events c WHERE c.id = p_caused_by_event_id;
        IF NOT FOUND THEN
            v_problem := 'caused_by_event_id';
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._refuse_submission(v_problem, 1, 1, p_customer_id, p_event_type, p_payload,
                                          p_priority, p_caused_by_event_id);
    END IF;

    INSERT INTO ledger.events (customer_id, event_type, payload, priority, run_after, max_attempts,
                               idempotency_key, correlation_id, caused_by_event_id, changed_by,
                               changed_by_kind, created_at, updated_at)
    VALUES (p_customer_id, p_event_type, p_payload, coalesce(p_priority, 0),
            coalesce(p_run_after, v_now), v_max_attempts, p_idempotency_key,
            coalesce(v_correlation_id, gen_random_uuid()), p_caused_by_event_id, v_actor, v_kind,
            v_now, v_now)
    ON CONFLICT (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v_event;

    IF FOUND THEN
        IF v_event.run_after <= v_now THEN
            PERFORM ledger._wake_workers(jsonb_build_object(p_event_type, 1));
        END IF;
        RETURN ROW(true, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
                   v_event.priority, v_event.run_after, v_event.idempotency_key,
                   v_event.correlation_id, v_event.created_at)::api.receipt;
    END IF;

    -- The idempotency key was used before: a repeat of the same submit answers with that event.
    SELECT * INTO v_event FROM ledger.events e
     WHERE e.customer_id = p_customer_id AND e.idempotency_key = p_idempotency_key;
    IF (v_event.event_type, v_event.payload, v_event.priority)
       IS DISTINCT FROM (p_event_type, p_payload, coalesce(p_priority, 0)::smallint) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL004',
            MESSAGE = format('idempotency key %s was already used for event %s with a different body',
                             quote_literal(p_idempotency_key), v_event.id),
            DETAIL = 'Event 1 of 1 in the request; nothing was submitted.',
            HINT = 'Repeat a submit with exactly the same event_type, payload and priority, or use a new key.';
    END IF;
    RETURN ROW(false, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
               v_event.priority, v_event.run_after, v_event.idempotency_key, v_event.correlation_id,
               v_event.created_at)::api.receipt;
END
$$;
COMMENT ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz) IS
    'Submits one event (queued, one audit row, a wake-up NOTIFY unless throttled). With an idempotency key, repeating the same submit returns the original event (created = false); the same key with another body is refused (AL004).';
GRANT EXECUTE ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz)
    TO agentledger_api, agentledger_worker;
-- end db/functions/submit_event.sql

COMMIT;
