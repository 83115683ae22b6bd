CREATE FUNCTION api.heartbeat_events(
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
