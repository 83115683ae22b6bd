-- Revert agentledger:functions/release_events from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/release_events.sql
CREATE OR REPLACE FUNCTION api.release_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_reason text DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Generic plans for all but the UPDATE, as in api.decide_events.
SET plan_cache_mode = force_generic_plan AS $$
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
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens,
    -- $3 reason, $4 now, $5 digest.
    EXECUTE $sql$
    WITH released AS (
        UPDATE ledger.events e
           SET status = CASE WHEN e.status = 'processing' THEN 'queued' ELSE e.status END,
               version = e.version + CASE WHEN e.status = 'processing' THEN 1 ELSE 0 END,
               changed_by = CASE WHEN e.status = 'processing' THEN e.lease_owner ELSE e.changed_by END,
               changed_by_kind = CASE WHEN e.status = 'processing' THEN 'agent' ELSE e.changed_by_kind END,
               change_reason = CASE WHEN e.status = 'processing' THEN coalesce($3, 'released')
                                    ELSE e.change_reason END,
               change_details = CASE WHEN e.status = 'processing' THEN NULL ELSE e.change_details END,
               updated_at = $4, run_after = $4, attempts = greatest(e.attempts - 1, 0),
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = i.token, last_report = 'release', last_report_digest = $5
          FROM unnest($1::bigint[], $2::uuid[]) AS i (id, token)
         WHERE e.id = ANY ($1) AND e.id = i.id AND (e.lease_token = i.token) IS TRUE  -- by id only: see decide_events
        RETURNING e.id, e.event_type, e.status
    )
    SELECT array_agg(r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status <> 'queued'))
      FROM released r
    $sql$
      INTO v_done, v_queued, v_actions
      USING p_event_ids, p_lease_tokens, p_reason, v_now, v_digest;
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
-- end db/functions/release_events.sql

COMMIT;
