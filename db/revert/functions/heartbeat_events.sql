-- Revert agentledger:functions/heartbeat_events from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.heartbeat_events(bigint[], uuid[], timestamptz, text);

-- begin db/functions/heartbeat_events.sql
CREATE OR REPLACE FUNCTION api.heartbeat_events(
    p_event_ids bigint[],
    p_lease_tokens uuid[],
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Generic plans for all but the UPDATE, as in api.decide_events.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_done bigint[];
BEGIN
    PERFORM ledger._checked_report(p_event_ids, p_lease_tokens, '{}');
    -- A lease that expired but was not yet rescued or taken over is still this token's to renew.
    -- Planned for this batch at each call, as in api.decide_events. $1 event ids, $2 tokens, $3 now.
    EXECUTE $sql$
    WITH renewed AS (
        UPDATE ledger.events e
           SET lease_expires_at = greatest(e.lease_expires_at,
                                           $3 + (SELECT s.lease_duration FROM ledger.settings s))
          FROM unnest($1::bigint[], $2::uuid[]) AS i (id, token)
         WHERE e.id = ANY ($1) AND e.id = i.id AND (e.lease_token = i.token) IS TRUE  -- by id only: see decide_events
        RETURNING e.id
    )
    SELECT array_agg(r.id) FROM renewed r
    $sql$
      INTO v_done
      USING p_event_ids, p_lease_tokens, v_now;
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
-- end db/functions/heartbeat_events.sql

COMMIT;
