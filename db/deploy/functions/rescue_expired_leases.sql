-- Deploy agentledger:functions/rescue_expired_leases to pg
-- Written by `agentledger db functions` from db/functions/rescue_expired_leases.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.rescue_expired_leases(integer, text, timestamptz);

-- begin db/functions/rescue_expired_leases.sql
CREATE OR REPLACE FUNCTION api.rescue_expired_leases(
    p_limit integer DEFAULT 1000,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS SETOF api.report
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    -- The principal that runs the rescue is the actor; the change is the system's rule (kind system).
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_reports api.report[];
    v_queued jsonb;
    v_actions jsonb;
BEGIN
    PERFORM ledger._checked_claim(p_limit, NULL);
    -- One guarded UPDATE. FOR UPDATE re-checks the expiry on the newest version of each row it
    -- locks (and keeps the lock), so a heartbeat, completion or release that committed meanwhile is
    -- never undone; SKIP LOCKED lets several rescuers (and reports in flight) pass each other
    -- without waiting. The UPDATE joins on what was locked only: repeating the expiry test there
    -- would let the planner drive it from the expiry index, quadratic when many leases expire.
    WITH expired AS (
        SELECT e.customer_id, e.id FROM ledger.events e
         WHERE e.lease_token IS NOT NULL AND e.lease_expires_at <= v_now
         ORDER BY e.lease_expires_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), rescued AS (
        UPDATE ledger.events e
           SET status = CASE WHEN e.attempts >= e.max_attempts THEN 'failed'
                             WHEN e.status = 'processing' THEN 'queued'
                             ELSE e.status END,
               version = e.version + CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                          THEN 1 ELSE 0 END,
               changed_by = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                 THEN v_acting.principal ELSE e.changed_by END,
               changed_by_kind = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                      THEN 'system' ELSE e.changed_by_kind END,
               changed_by_key = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                     THEN v_acting.api_key ELSE e.changed_by_key END,
               change_reason = CASE WHEN e.attempts >= e.max_attempts
                                    THEN format('lease of %s expired at %s; all %s attempts used',
                                                e.lease_owner, e.lease_expires_at, e.max_attempts)
                                    WHEN e.status = 'processing'
                                    THEN format('lease of %s expired at %s', e.lease_owner, e.lease_expires_at)
                                    ELSE e.change_reason END,
               change_details = CASE WHEN e.attempts >= e.max_attempts OR e.status = 'processing'
                                     THEN jsonb_build_object('lease_owner', e.lease_owner,
                                                             'lease_expired_at', e.lease_expires_at)
                                     ELSE e.change_details END,
               updated_at = v_now,
               run_after = CASE WHEN e.attempts < e.max_attempts THEN v_now ELSE e.run_after END,
               last_error = format('lease of %s expired at %s', e.lease_owner, e.lease_expires_at),
               last_error_type = 'LeaseExpired',
               lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, lease_fenced = false,
               -- The expired holder's reports are refused from now on, not taken for retries.
               last_lease_token = NULL, last_report = NULL, last_report_digest = NULL
          FROM expired x
         WHERE e.customer_id = x.customer_id AND e.id = x.id
        RETURNING e.id, e.event_type, e.status, e.run_after
    )
    SELECT array_agg(ROW(r.id, 'done', r.status, NULL,
                         CASE r.status WHEN 'failed' THEN 'lease expired; attempts exhausted'
                                       WHEN 'queued' THEN 'lease expired; queued again'
                                       ELSE 'lease expired; action offered again' END,
                         NULL, CASE WHEN r.status <> 'failed' THEN r.run_after END)::api.report
                     ORDER BY r.id),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status = 'queued')),
           ledger._count_by_type(array_agg(r.event_type) FILTER (WHERE r.status IN ('approved', 'rejected')))
      INTO v_reports, v_queued, v_actions
      FROM rescued r;
    PERFORM ledger._wake_workers(v_queued);
    PERFORM ledger._wake_action_workers(v_actions);
    RETURN QUERY SELECT * FROM unnest(v_reports);
END
$$;
COMMENT ON FUNCTION api.rescue_expired_leases(integer, timestamptz, text) IS
$$Frees up to p_limit events whose lease has expired: an event in processing goes back to queued
(runnable now; the attempt stays counted) or to failed when its attempts are used up; a decided event
loses the lease so its action is offered again (or fails when its attempts are used up). One audit
row per status change, by the principal of the worker key p_key or of the login (kind system). Safe to run from several sessions at once and
from a scheduled job; returns one api.report per event freed.$$;
GRANT EXECUTE ON FUNCTION api.rescue_expired_leases(integer, timestamptz, text) TO agentledger_worker;
-- end db/functions/rescue_expired_leases.sql

COMMIT;
