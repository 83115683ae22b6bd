-- Deploy agentledger:functions/transition to pg
-- The generic transition refuses the review steps, as it refuses the operator steps: a decision goes
-- to review by its type's review policy (a trigger), and leaves it by reviewers' verdicts
-- (api.review_event). Cancel also accepts the failure of a failed event, and cancel and re-queue
-- release and restore an event's place in its customer's order. Bodies replaced in place; the
-- signatures stay.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/transition_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._transition_event(
    p_event_id bigint,
    p_status text,
    p_actor text,
    p_actor_kind text,
    p_reason text,
    p_result jsonb,
    p_details jsonb,
    p_now timestamptz,
    p_operator_step text,
    p_lease_token uuid DEFAULT NULL)
RETURNS api.event
LANGUAGE plpgsql AS $$
-- The one implementation of a status change by an actor. p_operator_step names the operator step
-- the caller is ('requeue', 'cancel'), or is NULL: those two moves are only made through the
-- operator functions. p_lease_token, when given, must be the event's current lease token.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_to ledger.event_status := ledger._checked_status(p_status);
    v_actor text := ledger._checked_actor(p_actor);
    v_kind ledger.actor_kind := ledger._checked_actor_kind(p_actor_kind);
    v_event ledger.events;
    v_details jsonb := p_details;
    v_lease_token uuid;
    v_lease_owner text;
    v_lease_expires_at timestamptz;
    v_step text;
    v_max_bytes integer;
BEGIN
    IF p_details IS NOT NULL OR p_result IS NOT NULL THEN
        SELECT s.max_payload_bytes INTO v_max_bytes FROM ledger.settings s;
    END IF;
    IF char_length(p_reason) > 4000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('reason of %s characters is longer than 4000', char_length(p_reason)),
            DETAIL = 'The reason is a sentence for the audit trail, not a document.',
            HINT = 'Put long evidence in details, or a reference to it.';
    ELSIF octet_length(p_details::text) > v_max_bytes OR octet_length(p_result::text) > v_max_bytes THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('result or details larger than the limit of %s bytes', v_max_bytes),
            DETAIL = 'They are kept forever in the audit trail; the limit is ledger.settings.max_payload_bytes.',
            HINT = 'Store large evidence elsewhere and put a reference in details.';
    END IF;
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
    SELECT t.name INTO v_step FROM ledger.transitions t
     WHERE t.from_status = v_event.status AND t.to_status = v_to;
    IF v_step IN ('requeue', 'cancel') AND v_step IS DISTINCT FROM p_operator_step THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s: %s to %s is an operator step (%s)', p_event_id, v_event.status, v_to, v_step),
            DETAIL = 'Re-queueing a failed event and cancelling a queued one are decisions for operators.',
            HINT = format('Use api.%s_event, which the API role may call.', v_step);
    ELSIF v_step IN ('propose', 'review') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s: %s to %s is a review step', p_event_id, v_event.status, v_to),
            DETAIL = 'A decision goes to review by its type''s review policy, and leaves it by reviewers'' verdicts.',
            HINT = CASE WHEN v_step = 'propose' THEN 'Decide approved or rejected; the policy decides whether people review it.'
                        ELSE 'Use api.review_event (POST /events/{id}/reviews).' END;
    END IF;
    IF v_step IS NOT NULL THEN
        -- A move the lifecycle allows; whether this caller may make it depends on who holds the lease.
        PERFORM ledger._refuse_foreign_lease(v_event, p_lease_token, v_actor, v_now);
    END IF;
    IF v_to = 'processing' AND v_event.run_after > v_now THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s may not be claimed before %s', p_event_id, v_event.run_after),
            DETAIL = 'Its run_after (a schedule or a retry back-off) has not passed.',
            HINT = 'Claim it after run_after.';
    END IF;

    IF v_to = 'processing' AND v_event.attempts >= v_event.max_attempts THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s has used all %s of its attempts', p_event_id, v_event.max_attempts),
            DETAIL = 'A claim counts as an attempt.',
            HINT = format('An operator may cancel it (api.cancel_event(%s, reason)), or re-queue it with fresh attempts once it has failed.', p_event_id);
    END IF;
    IF v_to = 'processing' THEN
        -- A claim: the actor takes a lease. Volatile values are computed before the UPDATE.
        v_lease_token := gen_random_uuid();
        v_lease_owner := v_actor;
        v_lease_expires_at := v_now + (SELECT s.lease_duration FROM ledger.settings s);
    END IF;
    IF p_details ? 'result' THEN
        -- The audit row's "result" must be the event's result, so only p_result may set it.
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'details may not carry a "result" key',
            DETAIL = 'The decision result is recorded from p_result, in the event and in its audit row.',
            HINT = 'Pass the decision result as p_result.';
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
           updated_at = v_now,
           attempts = CASE
                          WHEN v_to = 'processing' THEN e.attempts + 1
                          -- An operator re-queue starts afresh; a decision starts the count of
                          -- attempts at its follow-up action (the lease is dropped here).
                          WHEN e.status = 'failed' OR v_to IN ('approved', 'rejected') THEN 0
                          -- Given back to the queue: the attempt is returned, so an event
                          -- released at its last attempt can still be claimed.
                          WHEN e.status = 'processing' AND v_to = 'queued' THEN greatest(e.attempts - 1, 0)
                          ELSE e.attempts
                      END,
           lease_owner = v_lease_owner,
           lease_token = v_lease_token,
           lease_expires_at = v_lease_expires_at,
           lease_fenced = false,  -- a lease taken here lets its named owner act without the token
           last_lease_token = p_lease_token,
           last_report = CASE WHEN p_lease_token IS NOT NULL THEN 'transition' END,
           last_report_digest = NULL,
           run_after = CASE WHEN v_to = 'queued' THEN v_now ELSE e.run_after END,
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
    ELSIF v_to IN ('approved', 'rejected') THEN
        PERFORM ledger._wake_action_workers(jsonb_build_object(v_event.event_type, 1));
    END IF;
    RETURN ledger._as_api_event(v_event);
END
$$;
COMMENT ON FUNCTION ledger._transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, text, uuid) IS
    'The implementation of api.transition_event, api.requeue_event and api.cancel_event.';

CREATE OR REPLACE FUNCTION api.transition_event(
    p_event_id bigint,
    p_status text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_reason text DEFAULT NULL,
    p_result jsonb DEFAULT NULL,
    p_details jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now(),
    p_lease_token uuid DEFAULT NULL)
RETURNS api.event
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN ledger._transition_event(p_event_id, p_status, p_actor, p_actor_kind, p_reason, p_result,
                                p_details, p_now, NULL, p_lease_token);
COMMENT ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid) IS
$$Moves an event to p_status if ledger.transitions allows it (AL003 otherwise; AL001 if it does not
exist), recording actor, reason and details in the audit trail. To processing (a claim, once
run_after has passed): the actor takes a lease. To approved/rejected: p_result is the decision
result. To failed: p_reason is the error. Re-queue and cancel are operator steps: api.requeue_event
and api.cancel_event. While another holder's lease is live, the event is refused (AL009) unless
p_lease_token is that lease's token; a lease this function took lets its named owner (p_actor) go on
without one. p_now may differ from now() only for the owner (tests move the clock).$$;
GRANT EXECUTE ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid)
    TO agentledger_api, agentledger_worker;
-- end db/functions/transition_event.sql

-- begin db/functions/requeue_and_cancel.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION api.requeue_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_event api.event;
BEGIN
    PERFORM ledger._require_status(p_event_id, 'failed', 're-queued');
    v_event := ledger._transition_event(p_event_id, 'queued', p_actor, p_actor_kind, p_reason, NULL, NULL,
                                        p_now, 'requeue');
    -- Back in the queue, an ordered event takes its place in its customer's order again.
    UPDATE ledger.events e SET order_released_at = NULL
     WHERE e.id = p_event_id AND e.order_released_at IS NOT NULL;
    RETURN v_event;
END
$$;
COMMENT ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) IS
    'Operator re-queue of a failed event, with a reason (AL008 without one): back to queued with its attempts reset, and workers are woken.';
GRANT EXECUTE ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) TO agentledger_api;

CREATE OR REPLACE FUNCTION api.cancel_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- A queued event: cancelled (failed). A failed ordered event that holds back its customer's later
-- ordered events: its failure is accepted, recorded as a note, and the line moves on.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_event ledger.events;
    v_result api.event;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF FOUND AND v_event.status = 'failed' AND v_event.ordered AND v_event.order_released_at IS NULL THEN
        IF char_length(p_reason) > 4000 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL010',
                MESSAGE = format('reason of %s characters is longer than 4000', char_length(p_reason)),
                HINT = 'The reason is a sentence for the audit trail.';
        END IF;
        UPDATE ledger.events e
           SET version = e.version + 1, changed_by = ledger._checked_actor(p_actor),
               changed_by_kind = ledger._checked_actor_kind(p_actor_kind), change_reason = p_reason,
               change_details = jsonb_build_object('step', 'cancel', 'failure_accepted', true),
               updated_at = v_now, order_released_at = v_now
         WHERE e.customer_id = v_event.customer_id AND e.id = p_event_id
        RETURNING * INTO v_event;
        v_result := ledger._as_api_event(v_event);
    ELSE
        PERFORM ledger._require_status(p_event_id, 'queued', 'cancelled');
        v_result := ledger._transition_event(p_event_id, 'failed', p_actor, p_actor_kind, p_reason, NULL, NULL,
                                             p_now, 'cancel');
        UPDATE ledger.events e SET order_released_at = v_now
         WHERE e.id = p_event_id AND e.ordered
        RETURNING * INTO v_event;
    END IF;
    IF v_event.ordered THEN
        -- The customer's next ordered event may be claimed now.
        PERFORM ledger._wake_workers((SELECT jsonb_object_agg(q.event_type, q.n)
                                        FROM (SELECT o.event_type, count(*) AS n FROM ledger.events o
                                               WHERE o.customer_id = v_event.customer_id AND o.ordered
                                                 AND o.status = 'queued' GROUP BY o.event_type) q));
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) IS
$$Cancels a queued event, with a reason (AL008 without one): it becomes failed and is never claimed.
Given a failed ordered event that holds back its customer's later ordered events, accepts its
failure (a note, with the reason): it stays failed and the line moves on. Any other status: AL003.$$;
GRANT EXECUTE ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) TO agentledger_api;
-- end db/functions/requeue_and_cancel.sql

COMMIT;
