-- Deploy agentledger:functions/_transition_event to pg
-- Written by `agentledger db functions` from db/functions/_transition_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, text, uuid);

-- begin db/functions/_transition_event.sql
CREATE OR REPLACE FUNCTION ledger._transition_event(
    p_event_id bigint,
    p_status text,
    p_acting ledger.acting,
    p_reason text,
    p_result jsonb,
    p_details jsonb,
    p_now timestamptz,
    p_operator_step text,
    p_lease_token uuid DEFAULT NULL)
RETURNS api.event
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- The one implementation of a status change by a principal (p_acting, as ledger._acting found it;
-- it must hold the lease of an event it reports on). p_operator_step names the operator step
-- the caller is ('requeue', 'cancel'), or is NULL: those two moves are only made through the
-- operator functions. p_lease_token, when given, must be the event's current lease token.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_to ledger.event_status := ledger._checked_status(p_status);
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
    PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
    IF octet_length(p_details::text) > v_max_bytes OR octet_length(p_result::text) > v_max_bytes THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('result or details larger than the limit of %s bytes', v_max_bytes),
            DETAIL = 'They are kept forever in the audit trail; the limit is ledger.settings.max_payload_bytes.',
            HINT = 'Store large evidence elsewhere and put a reference in details.';
    END IF;
    IF p_details IS NOT NULL AND jsonb_typeof(p_details) <> 'object'
       OR p_result IS NOT NULL AND jsonb_typeof(p_result) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
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
    PERFORM ledger._refuse_out_of_scope(p_acting, v_event.customer_id, v_event.event_type);
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
        PERFORM ledger._refuse_foreign_lease(v_event, p_lease_token, p_acting.principal);
    END IF;
    IF v_to = 'processing' AND v_event.run_after > v_now THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s may not be claimed before %s', p_event_id, v_event.run_after),
            DETAIL = 'Its run_after (a schedule or a retry back-off) has not passed.',
            HINT = 'Claim it after run_after.';
    END IF;
    IF v_to = 'processing' AND v_event.ordered IS TRUE AND v_event.first_in_line IS NOT TRUE THEN
        -- The claim functions take only the first of a customer's ordered events; so does this.
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s waits behind an earlier ordered event of customer %s', p_event_id,
                             v_event.customer_id),
            DETAIL = format('Events of type %s are claimed one at a time per customer, in submission order.',
                            v_event.event_type),
            HINT = 'Claim it once the events before it are completed, or an operator has released the line.';
    END IF;

    IF v_to = 'processing' AND v_event.attempts >= v_event.max_attempts THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s has used all %s of its attempts', p_event_id, v_event.max_attempts),
            DETAIL = 'A claim counts as an attempt.',
            HINT = format('An operator may cancel it (api.cancel_event(%s, reason)), or re-queue it with fresh attempts once it has failed.', p_event_id);
    END IF;
    IF v_to = 'processing' THEN
        -- A claim: the principal takes a lease. Volatile values are computed before the UPDATE.
        v_lease_token := gen_random_uuid();
        v_lease_owner := p_acting.principal;
        v_lease_expires_at := v_now + (SELECT s.lease_duration FROM ledger.settings s);
    END IF;
    IF p_details ? 'result' THEN
        -- The audit row's "result" must be the event's result, so only p_result may set it.
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
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
           changed_by = p_acting.principal,
           changed_by_kind = p_acting.kind,
           changed_by_key = p_acting.api_key,
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
           lease_fenced = false,  -- a lease taken here lets its principal act without the token
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
COMMENT ON FUNCTION ledger._transition_event(bigint, text, ledger.acting, text, jsonb, jsonb, timestamptz, text, uuid) IS
    'The implementation of api.transition_event, api.requeue_event and api.cancel_event.';
-- end db/functions/_transition_event.sql

COMMIT;
