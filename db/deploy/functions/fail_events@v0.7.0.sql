-- Deploy agentledger:functions/fail_events to pg
-- Written by agentledger/function_changes.py from db/functions/fail_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/fail_events.sql
CREATE OR REPLACE FUNCTION api.fail_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_errors text[],
    p_error_types text[] DEFAULT NULL,
    p_retryable boolean[] DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Generic plans for all but the UPDATE, as in api.decide_events.
SET plan_cache_mode = force_generic_plan AS $$
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
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens,
    -- $3 errors, $4 error types, $5 retryable, $6 digests, $7 now.
    EXECUTE $sql$
    WITH report AS (
        SELECT r.*, coalesce(r.retryable, true) AND e.attempts < e.max_attempts AS retry,
               e.status AS from_status, $7 + ledger._retry_delay(e.attempts) AS retry_at
          FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::boolean[], $6::bytea[])
                   AS r (id, token, error, error_type, retryable, digest)
          JOIN ledger.events e ON e.id = r.id AND e.id = ANY ($1)  -- see decide_events
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
               updated_at = $7,
               run_after = CASE WHEN r.retry THEN r.retry_at ELSE e.run_after END,
               last_error = r.error, last_error_type = r.error_type,
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = r.token, last_report = 'fail', last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY ($1) AND e.id = r.id  -- by id only: see decide_events
           AND (e.lease_token = r.token AND e.status IN ('processing', 'approved', 'rejected')) IS TRUE
        RETURNING e.id, e.event_type, e.status, e.run_after
    )
    SELECT array_agg(f.id),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status = 'queued' AND f.run_after <= $7)),
           ledger._count_by_type(array_agg(f.event_type) FILTER (WHERE f.status IN ('approved', 'rejected')
                                                                    AND f.run_after <= $7))
      FROM failed f
    $sql$
      INTO v_done, v_runnable, v_actions
      USING p_event_ids, p_lease_tokens, p_errors, p_error_types, p_retryable, v_digests, v_now;
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
-- end db/functions/fail_events.sql

COMMIT;
