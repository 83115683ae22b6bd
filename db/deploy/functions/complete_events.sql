-- Deploy agentledger:functions/complete_events to pg
-- Written by `agentledger db functions` from db/functions/complete_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz);

-- begin db/functions/complete_events.sql
CREATE OR REPLACE FUNCTION api.complete_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_details jsonb[] DEFAULT NULL,
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
    v_digests bytea[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, ARRAY[ledger._flat_length(p_details)]);
    PERFORM ledger._refuse_bad_outcome_inputs(NULL, p_details,
                                              (SELECT s.max_payload_bytes FROM ledger.settings s), 'details');
    IF EXISTS (SELECT 1 FROM unnest(p_details) d WHERE d ? 'result') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'details may not carry a "result" key',
            DETAIL = 'The decision result was recorded when the event was decided.',
            HINT = 'Describe what the action did, e.g. {"transfer_id": "T-123"}.';
    END IF;
    v_digests := ARRAY(SELECT ledger._report_digest(jsonb_build_array(d.details))
                         FROM unnest(p_event_ids, p_details) WITH ORDINALITY AS d (id, details, n) ORDER BY d.n);
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens,
    -- $3 details, $4 digests, $5 now, $6 the acting principal, which must hold the lease with the
    -- token, $7 its kind, $8 its API key.
    EXECUTE $sql$
    WITH report AS (
        SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::jsonb[], $4::bytea[]) AS r (id, token, details, digest)
    ), completed AS (
        UPDATE ledger.events e
           SET status = 'completed', version = e.version + 1, changed_by = $6,
               changed_by_kind = $7, changed_by_key = $8, change_reason = NULL, change_details = r.details,
               updated_at = $5, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
               lease_fenced = false, last_lease_token = r.token, last_report = 'complete',
               last_report_digest = r.digest
          FROM report r
         WHERE e.id = ANY ($1) AND e.id = r.id  -- by id only: see decide_events
           AND (e.lease_token = r.token AND e.lease_owner = $6 AND e.status IN ('approved', 'rejected')) IS TRUE
        RETURNING e.id
    )
    SELECT array_agg(c.id) FROM completed c
    $sql$
      INTO v_done
      USING p_event_ids, p_lease_tokens, p_details, v_digests, v_now, v_acting.principal, v_acting.kind,
            v_acting.api_key;
    RETURN QUERY SELECT * FROM ledger._report_outcomes(p_event_ids, p_lease_tokens, v_digests, v_done, 'complete',
                                                       'approved or rejected', v_acting.principal);
END
$$;
COMMENT ON FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz, text) IS
$$Marks decided events completed: their follow-up action succeeded. Named by (event id, lease token);
p_details (objects) say what the action did and land in the audit row. One statement; answers per
event (api.report); the same report sent again answers already_done and writes nothing.$$;
GRANT EXECUTE ON FUNCTION api.complete_events(bigint[], uuid[], jsonb[], timestamptz, text) TO agentledger_worker, agentledger_api;
-- end db/functions/complete_events.sql

COMMIT;
