-- Revert agentledger:functions/report from pg
-- Back to the report functions of @v0.2.0 (db/deploy/functions/report@v0.2.0.sql), which plan every
-- statement of a call for its batch (plan_cache_mode = force_custom_plan).
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE OR REPLACE FUNCTION api.heartbeat_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Plans fitted to each batch: a cached generic plan guesses at the array sizes and at how many
-- events hold leases, and once chose to walk every leased event per event reported.
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_done bigint[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    -- A lease that expired but was not yet rescued or taken over is still this token's to renew.
    WITH renewed AS (
        UPDATE ledger.events e
           SET lease_expires_at = greatest(e.lease_expires_at,
                                           v_now + (SELECT s.lease_duration FROM ledger.settings s))
          FROM unnest(p_event_ids, p_lease_tokens) AS i (id, token)
         WHERE e.id = ANY (p_event_ids) AND e.id = i.id AND e.lease_token = i.token  -- see decide_events
        RETURNING e.id
    )
    SELECT array_agg(r.id) INTO v_done FROM renewed r;
    -- Renewing is not a report, so no renewal is ever "already done": a token whose lease ended
    -- is refused (AL009).
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, NULL, v_done, 'heartbeat',
                                                       'leased');
END
$$;
COMMENT ON FUNCTION api.heartbeat_events(bigint[], uuid[], timestamptz) IS
$$Extends the leases named by (event id, lease token) to now + ledger.settings.lease_duration. Answers
per event: done with the new lease_expires_at, or refused with AL009 when the lease has ended (the
handler should stop: whatever it reports will be refused).$$;
GRANT EXECUTE ON FUNCTION api.heartbeat_events(bigint[], uuid[], timestamptz) TO agentledger_worker, agentledger_api;

CREATE OR REPLACE FUNCTION api.decide_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_decisions text[],
    p_reasons text[] DEFAULT NULL,
    p_results jsonb[] DEFAULT NULL,
    p_keep_lease boolean DEFAULT true,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Plans fitted to each batch: a cached generic plan guesses at the array sizes and at how many
-- events hold leases, and once chose to walk every leased event per event reported.
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_max_bytes integer;
    v_lease interval;
    v_done bigint[];
    v_handed_off jsonb;
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens,
                                   ARRAY[ledger._flat_length(p_decisions), ledger._flat_length(p_reasons),
                                         ledger._flat_length(p_results)]);
    SELECT s.max_payload_bytes, s.lease_duration INTO v_max_bytes, v_lease FROM ledger.settings s;
    PERFORM ledger._refuse_bad_outcome_inputs(p_reasons, p_results, v_max_bytes, 'result');
    IF p_keep_lease IS NULL OR p_decisions IS NULL OR EXISTS (
           SELECT 1 FROM unnest(p_decisions) d WHERE d IS NULL OR d NOT IN ('approved', 'rejected')) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'each decision must be approved or rejected, and p_keep_lease true or false',
            DETAIL = format('Decisions: %s; p_keep_lease: %s.', p_decisions, coalesce(p_keep_lease::text, 'NULL')),
            HINT = 'Pass one decision per event.';
    END IF;

    -- The decision starts the action's own count of attempts. With p_keep_lease the deciding
    -- worker goes on to run the action under the same token (its first attempt); without, the
    -- action is offered to api.claim_actions.
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.decision, d.reason, d.result, p_keep_lease))
                         FROM unnest(p_decisions, p_reasons, p_results) WITH ORDINALITY AS d (decision, reason, result, n)
                        ORDER BY d.n);
    WITH report AS (
        SELECT * FROM unnest(p_event_ids, p_lease_tokens, p_decisions, p_reasons, p_results, v_digests)
                      AS r (id, token, decision, reason, result, digest)
    ), decided AS (
        UPDATE ledger.events e
           SET status = r.decision::ledger.event_status, version = e.version + 1,
               changed_by = e.lease_owner, changed_by_kind = 'agent', change_reason = r.reason,
               change_details = CASE WHEN r.result IS NOT NULL THEN jsonb_build_object('result', r.result) END,
               -- A kept lease is the action's first attempt; a handed-off action has none yet.
               updated_at = v_now, result = r.result, attempts = CASE WHEN p_keep_lease THEN 1 ELSE 0 END,
               lease_owner = CASE WHEN p_keep_lease THEN e.lease_owner END,
               lease_token = CASE WHEN p_keep_lease THEN e.lease_token END,
               lease_expires_at = CASE WHEN p_keep_lease THEN greatest(e.lease_expires_at, v_now + v_lease) END,
               lease_fenced = p_keep_lease,
               last_lease_token = r.token, last_report = 'decide', last_report_digest = r.digest
          FROM report r
         -- id = ANY(...) gives every plan, also a cached generic one, the way in through the id index.
         WHERE e.id = ANY (p_event_ids) AND e.id = r.id AND e.lease_token = r.token AND e.status = 'processing'
        RETURNING e.id, e.event_type
    )
    SELECT array_agg(d.id), ledger._count_by_type(array_agg(d.event_type))
      INTO v_done, v_handed_off
      FROM decided d;
    IF NOT p_keep_lease THEN
        PERFORM ledger._wake_action_workers(v_handed_off);
    END IF;
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'decide',
                                                       'processing');
END
$$;
COMMENT ON FUNCTION api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz) IS
$$Records the decisions (approved or rejected, with reason and result object) of events in
processing, named by (event id, lease token): one statement, one audit row each, the lease owner as
actor. With p_keep_lease (default) the worker keeps the lease to run the follow-up action; without,
the lease ends and the action is offered to api.claim_actions. Answers per event (api.report); the
same report sent again answers already_done and writes nothing.$$;
GRANT EXECUTE ON FUNCTION api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz)
    TO agentledger_worker, agentledger_api;

CREATE OR REPLACE FUNCTION api.complete_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_details jsonb[] DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Plans fitted to each batch: a cached generic plan guesses at the array sizes and at how many
-- events hold leases, and once chose to walk every leased event per event reported.
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_done bigint[];
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, ARRAY[ledger._flat_length(p_details)]);
    PERFORM ledger._refuse_bad_outcome_inputs(NULL, p_details,
                                              (SELECT s.max_payload_bytes FROM ledger.settings s), 'details');
    IF EXISTS (SELECT 1 FROM unnest(p_details) d WHERE d ? 'result') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'details may not carry a "result" key',
            DETAIL = 'The decision result was recorded when the event was decided.',
            HINT = 'Describe what the action did, e.g. {"transfer_id": "T-123"}.';
    END IF;
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.details))
                         FROM unnest(p_event_ids, p_details) WITH ORDINALITY AS d (id, details, n) ORDER BY d.n);
    WITH report AS (
        SELECT * FROM unnest(p_event_ids, p_lease_tokens, p_details, v_digests) AS r (id, token, details, digest)
    ), completed AS (
        UPDATE ledger.events e
           SET status = 'completed', version = e.version + 1, changed_by = e.lease_owner,
               changed_by_kind = 'agent', change_reason = NULL, change_details = r.details,
               updated_at = v_now, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
               lease_fenced = false, last_lease_token = r.token, last_report = 'complete',
               last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY (p_event_ids) AND e.id = r.id AND e.lease_token = r.token  -- see decide_events
           AND e.status IN ('approved', 'rejected')
        RETURNING e.id
    )
    SELECT array_agg(c.id) INTO v_done FROM completed c;
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'complete',
                                                       'approved or rejected');
END
$$;
COMMENT ON FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz) IS
$$Marks decided events completed: their follow-up action succeeded. Named by (event id, lease token);
p_details (objects) say what the action did and land in the audit row. One statement; answers per
event (api.report); the same report sent again answers already_done and writes nothing.$$;
GRANT EXECUTE ON FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz) TO agentledger_worker, agentledger_api;

CREATE OR REPLACE FUNCTION api.fail_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_errors text[],
    p_error_types text[] DEFAULT NULL,
    p_retryable boolean[] DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Plans fitted to each batch: a cached generic plan guesses at the array sizes and at how many
-- events hold leases, and once chose to walk every leased event per event reported.
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_done bigint[];
    v_runnable jsonb;
    v_actions jsonb;
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens,
                                   ARRAY[ledger._flat_length(p_errors), ledger._flat_length(p_error_types),
                                         ledger._flat_length(p_retryable)]);
    IF p_errors IS NULL OR EXISTS (SELECT 1 FROM unnest(p_errors) x WHERE coalesce(btrim(x), '') = '') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL008',
            MESSAGE = 'each failure needs its error text',
            DETAIL = 'The error is the reason of the audit row and the event''s last_error.',
            HINT = 'Pass the exception message, e.g. "model timed out after 30 s".';
    END IF;
    PERFORM ledger._refuse_bad_outcome_inputs(p_errors || p_error_types, NULL, NULL, 'error');

    -- Per event: retry (back to queued, or for a decided event back in the action queue) with the
    -- back-off of its attempt while attempts remain and the error is retryable; failed otherwise.
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.error, d.error_type, coalesce(d.retryable, true)))
                         FROM unnest(p_event_ids, p_errors, p_error_types, p_retryable)
                              WITH ORDINALITY AS d (id, error, error_type, retryable, n)
                        ORDER BY d.n);
    WITH report AS (
        SELECT r.*, coalesce(r.retryable, true) AND e.attempts < e.max_attempts AS retry,
               e.status AS from_status, v_now + ledger._retry_delay(e.attempts) AS retry_at
          FROM unnest(p_event_ids, p_lease_tokens, p_errors, p_error_types, p_retryable, v_digests)
                   AS r (id, token, error, error_type, retryable, digest)
          JOIN ledger.events e ON e.id = r.id AND e.id = ANY (p_event_ids)  -- see decide_events
    ), failed AS (
        UPDATE ledger.events e
           SET status = CASE WHEN NOT r.retry THEN 'failed'
                             WHEN r.from_status = 'processing' THEN 'queued'
                             ELSE e.status END,
               version = e.version + CASE WHEN r.retry AND r.from_status <> 'processing' THEN 0 ELSE 1 END,
               changed_by = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.changed_by ELSE e.lease_owner END,
               changed_by_kind = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.changed_by_kind ELSE 'agent' END,
               change_reason = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.change_reason ELSE r.error END,
               change_details = CASE WHEN r.retry AND r.from_status <> 'processing' THEN e.change_details
                                     ELSE jsonb_strip_nulls(jsonb_build_object(
                                              'error_type', r.error_type, 'retryable', coalesce(r.retryable, true),
                                              'retry_at', CASE WHEN r.retry THEN r.retry_at END)) END,
               updated_at = v_now,
               run_after = CASE WHEN r.retry THEN r.retry_at ELSE e.run_after END,
               last_error = r.error, last_error_type = r.error_type,
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = r.token, last_report = 'fail', last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY (p_event_ids) AND e.id = r.id AND e.lease_token = r.token
           AND e.status IN ('processing', 'approved', 'rejected')
        RETURNING e.id, e.event_type, e.status, e.run_after
    )
    SELECT array_agg(f.id),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status = 'queued' AND f.run_after <= v_now)),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status IN ('approved', 'rejected')
                                                                    AND f.run_after <= v_now))
      INTO v_done, v_runnable, v_actions
      FROM failed f;
    -- Retries are usually scheduled for later, which workers find by polling; a zero back-off
    -- makes them runnable now, and then they are announced like new work.
    PERFORM ledger._wake_workers(v_runnable);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'fail',
                                                       'processing, approved or rejected');
END
$$;
COMMENT ON FUNCTION api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz) IS
$$Reports failed attempts, named by (event id, lease token), with the error text (required, AL008) and
type. While the error is retryable (default) and attempts remain, an event in processing goes back
to queued and a decided event back to the action queue, with run_after moved out by the back-off
(ledger.settings.retry_base_delay doubling per attempt, at most retry_max_delay); otherwise it
becomes failed. The error and its type land in the event and in the audit row of a status change.
One statement; answers per event (api.report); the same report sent again answers already_done.$$;
GRANT EXECUTE ON FUNCTION api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz)
    TO agentledger_worker, agentledger_api;

CREATE OR REPLACE FUNCTION api.release_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_reason text DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Plans fitted to each batch: a cached generic plan guesses at the array sizes and at how many
-- events hold leases, and once chose to walk every leased event per event reported.
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_done bigint[];
    v_queued jsonb;
    v_actions jsonb;
    v_digest bytea := ledger._report_digest(jsonb_build_array(p_reason));
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    PERFORM ledger._refuse_bad_outcome_inputs(ARRAY[p_reason], NULL, NULL, 'reason');
    -- Given back unworked: the attempt the claim counted is returned, and the event is runnable now.
    WITH released AS (
        UPDATE ledger.events e
           SET status = CASE WHEN e.status = 'processing' THEN 'queued' ELSE e.status END,
               version = e.version + CASE WHEN e.status = 'processing' THEN 1 ELSE 0 END,
               changed_by = CASE WHEN e.status = 'processing' THEN e.lease_owner ELSE e.changed_by END,
               changed_by_kind = CASE WHEN e.status = 'processing' THEN 'agent' ELSE e.changed_by_kind END,
               change_reason = CASE WHEN e.status = 'processing' THEN coalesce(p_reason, 'released')
                                    ELSE e.change_reason END,
               change_details = CASE WHEN e.status = 'processing' THEN NULL ELSE e.change_details END,
               updated_at = v_now, run_after = v_now, attempts = greatest(e.attempts - 1, 0),
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = i.token, last_report = 'release', last_report_digest = v_digest
          FROM unnest(p_event_ids, p_lease_tokens) AS i (id, token)
         WHERE e.id = ANY (p_event_ids) AND e.id = i.id AND e.lease_token = i.token  -- see decide_events
        RETURNING e.id, e.event_type, e.status
    )
    SELECT array_agg(r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status <> 'queued'))
      INTO v_done, v_queued, v_actions
      FROM released r;
    PERFORM ledger._wake_workers(v_queued);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, array_fill(v_digest, ARRAY[cardinality(p_event_ids)]), v_done, 'release',
                                                       'leased');
END
$$;
COMMENT ON FUNCTION api.release_events(bigint[], uuid[], text, timestamptz) IS
$$Gives leased events back unworked (e.g. on shutdown), named by (event id, lease token): an event in
processing goes back to queued (one audit row, p_reason or "released"), a decided one back to the
action queue; the attempt its claim counted is returned and it is runnable at once (workers are
woken). Answers per event (api.report); the same report sent again answers already_done.$$;
GRANT EXECUTE ON FUNCTION api.release_events(bigint[], uuid[], text, timestamptz) TO agentledger_worker, agentledger_api;

COMMIT;
