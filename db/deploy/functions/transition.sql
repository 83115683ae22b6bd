-- Deploy agentledger:functions/transition to pg
-- Status changes by actor: decisions, outcomes, operator re-queue and cancel.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/transition_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.transition_event(
    p_event_id bigint,
    p_status text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_reason text DEFAULT NULL,
    p_result jsonb DEFAULT NULL,
    p_details jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_to ledger.event_status := ledger._checked_status(p_status);
    v_actor text := ledger._checked_actor(p_actor);
    v_kind ledger.actor_kind := ledger._checked_actor_kind(p_actor_kind);
    v_event ledger.events;
    v_details jsonb := p_details;
    v_lease_token uuid;
    v_lease_owner text;
    v_lease_expires_at timestamptz;
BEGIN
    IF p_details IS NOT NULL AND jsonb_typeof(p_details) <> 'object'
       OR p_result IS NOT NULL AND jsonb_typeof(p_result) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'result and details must be JSON objects',
            DETAIL = format('result is %s, details is %s.', coalesce(jsonb_typeof(p_result), 'absent'),
                            coalesce(jsonb_typeof(p_details), 'absent')),
            HINT = 'e.g. result {"score": 0.93}, details {"model": "risk-v4", "confidence": 0.93}.';
    END IF;

    -- Lock first, so "no such event" and "wrong status" are told apart and the update cannot race.
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    END IF;
    IF v_event.status = v_to THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is already %s', p_event_id, v_to),
            DETAIL = 'A transition must change the status.',
            HINT = ledger._transition_hint(p_event_id, v_event.status);
    END IF;

    IF v_to = 'processing' AND v_event.attempts >= v_event.max_attempts THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s has used all %s of its attempts', p_event_id, v_event.max_attempts),
            DETAIL = 'A claim counts as an attempt.',
            HINT = format('Fail it instead (api.transition_event(%s, ''failed'', ...)); an operator may then re-queue it with fresh attempts.', p_event_id);
    END IF;
    IF v_to = 'processing' THEN
        -- A claim: the actor takes a lease. Volatile values are computed before the UPDATE.
        v_lease_token := gen_random_uuid();
        v_lease_owner := v_actor;
        v_lease_expires_at := p_now + (SELECT s.lease_duration FROM ledger.settings s);
    END IF;
    IF p_result IS NOT NULL THEN
        v_details := coalesce(v_details, '{}'::jsonb) || jsonb_build_object('result', p_result);
    END IF;

    -- Compare-and-set on the status read under the lock; the trigger checks the move is allowed.
    UPDATE ledger.events e
       SET status = v_to,
           version = e.version + 1,
           changed_by = v_actor,
           changed_by_kind = v_kind,
           change_reason = p_reason,
           change_details = v_details,
           updated_at = p_now,
           attempts = CASE
                          WHEN v_to = 'processing' THEN e.attempts + 1
                          WHEN e.status = 'failed' THEN 0  -- an operator re-queue starts afresh
                          ELSE e.attempts
                      END,
           lease_owner = v_lease_owner,
           lease_token = v_lease_token,
           lease_expires_at = v_lease_expires_at,
           run_after = CASE WHEN v_to = 'queued' THEN p_now ELSE e.run_after END,
           result = CASE WHEN v_to IN ('approved', 'rejected') THEN p_result ELSE e.result END,
           last_error = CASE WHEN v_to = 'failed' THEN p_reason ELSE e.last_error END,
           last_error_type = CASE WHEN v_to = 'failed' THEN p_details ->> 'error_type'
                                  ELSE e.last_error_type END
     WHERE e.customer_id = v_event.customer_id
       AND e.id = v_event.id
       AND e.status = v_event.status
    RETURNING * INTO v_event;

    IF v_to = 'queued' THEN
        PERFORM ledger._wake_workers(jsonb_build_object(v_event.event_type, 1));
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;
COMMENT ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz) IS
$$Moves an event to p_status if ledger.transitions allows it (AL003 otherwise; AL001 if it does not
exist), recording actor, reason and details in the audit trail. To processing: the actor takes a
lease. To approved/rejected: p_result is the decision result. To failed: p_reason is the error.
Re-queue (failed to queued) and cancel (queued to failed) need a reason (AL008).$$;
GRANT EXECUTE ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz)
    TO agentledger_api, agentledger_worker;
-- end db/functions/transition_event.sql

-- begin db/functions/_require_status.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._require_status(p_event_id bigint, p_status ledger.event_status, p_verb text)
RETURNS void
LANGUAGE plpgsql AS $$
-- Locks the event and refuses unless it is in p_status: for steps that are one transition only.
DECLARE
    v_status ledger.event_status;
BEGIN
    SELECT e.status INTO v_status FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ledger._refuse_unknown_event(p_event_id);
    ELSIF v_status <> p_status THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s is %s; only %s events can be %s', p_event_id, v_status, p_status, p_verb),
            DETAIL = 'This step is a single transition of the lifecycle.',
            HINT = ledger._transition_hint(p_event_id, v_status);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._require_status(bigint, ledger.event_status, text) IS
    'Locks an event and refuses (AL001, AL003) unless it has the given status.';
-- end db/functions/_require_status.sql

-- begin db/functions/requeue_and_cancel.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.requeue_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_status(p_event_id, 'failed', 're-queued');
    RETURN api.transition_event(p_event_id, 'queued', p_actor, p_actor_kind, p_reason, NULL, NULL, p_now);
END
$$;
COMMENT ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) IS
    'Operator re-queue of a failed event, with a reason (AL008 without one): back to queued with its attempts reset, and workers are woken.';
GRANT EXECUTE ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) TO agentledger_api;

CREATE FUNCTION api.cancel_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_status(p_event_id, 'queued', 'cancelled');
    RETURN api.transition_event(p_event_id, 'failed', p_actor, p_actor_kind, p_reason, NULL, NULL, p_now);
END
$$;
COMMENT ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) IS
    'Cancels a queued event, with a reason (AL008 without one): it becomes failed and is never claimed.';
GRANT EXECUTE ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) TO agentledger_api;
-- end db/functions/requeue_and_cancel.sql

COMMIT;
