-- Revert agentledger:functions/decide_events from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz, text);

-- begin db/functions/decide_events.sql
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
-- Generic plans, cached for the session, for the statements of a call and of the helpers and
-- triggers it runs: each reaches events through the id index or reads only the report's arrays, so
-- one plan fits every batch, and small batches are not planned again at each call. The UPDATE is
-- the exception (see below): EXECUTE plans it for its batch at each call, as a one-shot plan is
-- never generic.
SET plan_cache_mode = force_generic_plan AS $$
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
            ERRCODE = 'AL020',
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
    -- The UPDATE is planned for this batch at each call (EXECUTE): a cached generic plan guesses at
    -- the array sizes and at how many events hold leases, and once chose to walk every leased event
    -- per event reported. $1 event ids, $2 tokens, $3 decisions, $4 reasons, $5 results,
    -- $6 digests, $7 now, $8 keep the lease, $9 lease duration.
    EXECUTE $sql$
    WITH report AS (
        SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::bytea[])
                      AS r (id, token, decision, reason, result, digest)
    ), decided AS (
        UPDATE ledger.events e
           SET status = r.decision::ledger.event_status, version = e.version + 1,
               changed_by = e.lease_owner, changed_by_kind = 'agent', change_reason = r.reason,
               change_details = CASE WHEN r.result IS NOT NULL THEN jsonb_build_object('result', r.result) END,
               -- A kept lease is the action's first attempt; a handed-off action has none yet.
               updated_at = $7, result = r.result, attempts = CASE WHEN $8 THEN 1 ELSE 0 END,
               lease_owner = CASE WHEN $8 THEN e.lease_owner END,
               lease_token = CASE WHEN $8 THEN e.lease_token END,
               lease_expires_at = CASE WHEN $8 THEN greatest(e.lease_expires_at, $7 + $9) END,
               lease_fenced = $8,
               last_lease_token = r.token, last_report = 'decide', last_report_digest = r.digest
          FROM report r
         -- The events are reached by id only: id = ANY(...) is the way in through the id index, and
         -- IS TRUE keeps the lease and status tests out of the choice of index. ANALYZE rarely sees
         -- events in processing or under a lease, so their indexes look nearly empty, and a plan
         -- that walked one of them read every event in that status or lease for each report.
         WHERE e.id = ANY ($1) AND e.id = r.id AND (e.lease_token = r.token AND e.status = 'processing') IS TRUE
        RETURNING e.id, e.event_type
    )
    SELECT array_agg(d.id), ledger._count_by_type(array_agg(d.event_type)) FROM decided d
    $sql$
      INTO v_done, v_handed_off
      USING p_event_ids, p_lease_tokens, p_decisions, p_reasons, p_results, v_digests, v_now, p_keep_lease,
            v_lease;
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
-- end db/functions/decide_events.sql

COMMIT;
