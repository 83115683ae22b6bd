-- Deploy agentledger:functions/release_events to pg
-- Written by `agentledger db functions` from db/functions/release_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.release_events(bigint[], uuid[], text, timestamptz);

-- begin db/functions/release_events.sql
CREATE OR REPLACE FUNCTION api.release_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_reason text DEFAULT NULL,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Generic plans for all but the UPDATE, as in api.decide_events.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_done bigint[];
    v_queued jsonb;
    v_actions jsonb;
    v_digest bytea := ledger._report_digest(jsonb_build_array(p_reason));
    v_free integer;
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    PERFORM ledger._refuse_bad_outcome_inputs(ARRAY[p_reason], NULL, NULL, 'reason');
    SELECT s.free_releases INTO v_free FROM ledger.settings s;
    -- Given back unworked: the attempt the claim counted is returned and the event is runnable now,
    -- for the first ledger.settings.free_releases releases of an event. After those a release keeps
    -- the attempt, and one that leaves no attempt fails the event, as the lease rescue does: a
    -- claim-and-release loop ends. The events are locked by ledger._checked_report. Planned for this
    -- batch at each call, as in api.decide_events. $1 event ids, $2 tokens, $3 reason, $4 now,
    -- $5 digest, $6 free releases, $7 the acting principal, which must hold the lease with the token,
    -- $8 its kind, $9 its API key.
    EXECUTE $sql$
    WITH given_back AS (
        SELECT e.id, i.token, e.status = 'processing' AS unworked,
               coalesce(e.releases, 0) >= $6 AND e.attempts >= e.max_attempts AS exhausted,
               coalesce(e.releases, 0) >= $6 AS counted
          FROM ledger.events e
          JOIN unnest($1::bigint[], $2::uuid[]) AS i (id, token) ON e.id = i.id
         WHERE e.id = ANY ($1) AND (e.lease_token = i.token AND e.lease_owner = $7) IS TRUE  -- by id only: see decide_events
    ), released AS (
        UPDATE ledger.events e
           SET status = CASE WHEN g.exhausted THEN 'failed' WHEN g.unworked THEN 'queued' ELSE e.status END,
               version = e.version + CASE WHEN g.exhausted OR g.unworked THEN 1 ELSE 0 END,
               changed_by = CASE WHEN g.exhausted OR g.unworked THEN $7 ELSE e.changed_by END,
               changed_by_kind = CASE WHEN g.exhausted OR g.unworked THEN $8 ELSE e.changed_by_kind END,
               changed_by_key = CASE WHEN g.exhausted OR g.unworked THEN $9 ELSE e.changed_by_key END,
               change_reason = CASE WHEN g.exhausted
                                    THEN format('released %s times; all %s attempts used', coalesce(e.releases, 0) + 1,
                                                e.max_attempts)
                                    WHEN g.unworked THEN coalesce($3, 'released')
                                    ELSE e.change_reason END,
               change_details = CASE WHEN g.exhausted OR g.unworked THEN NULL ELSE e.change_details END,
               updated_at = $4,
               run_after = CASE WHEN g.exhausted THEN e.run_after ELSE $4 END,
               attempts = CASE WHEN g.counted THEN e.attempts ELSE greatest(e.attempts - 1, 0) END,
               releases = coalesce(e.releases, 0) + 1,
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               last_lease_token = g.token, last_report = 'release', last_report_digest = $5
          FROM given_back g
         WHERE e.id = ANY ($1) AND e.id = g.id
        RETURNING e.id, e.event_type, e.status
    )
    SELECT array_agg(r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status IN ('approved', 'rejected')))
      FROM released r
    $sql$
      INTO v_done, v_queued, v_actions
      USING p_event_ids, p_lease_tokens, p_reason, v_now, v_digest, v_free, v_acting.principal, v_acting.kind,
            v_acting.api_key;
    PERFORM ledger._wake_workers(v_queued);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, array_fill(v_digest, ARRAY[cardinality(p_event_ids)]), v_done, 'release',
                                                       'leased', v_acting.principal);
END
$$;
COMMENT ON FUNCTION api.release_events(bigint[], uuid[], text, timestamptz, text) IS
$$Gives leased events back unworked (e.g. on shutdown), named by (event id, lease token): an event in
processing goes back to queued (one audit row, p_reason or "released"), a decided one back to the
action queue; the attempt its claim counted is returned and it is runnable at once (workers are
woken). Past ledger.settings.free_releases releases of one event, a release keeps the attempt, and
one that leaves none fails the event. Answers per event (api.report); the same report sent again answers already_done.$$;
GRANT EXECUTE ON FUNCTION api.release_events(bigint[], uuid[], text, timestamptz, text) TO agentledger_worker, agentledger_api;
-- end db/functions/release_events.sql

COMMIT;
