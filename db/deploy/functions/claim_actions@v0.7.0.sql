-- Deploy agentledger:functions/claim_actions to pg
-- Written by agentledger/function_changes.py from db/functions/claim_actions.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/claim_actions.sql
CREATE OR REPLACE FUNCTION api.claim_actions(
    p_worker text,
    p_limit integer DEFAULT 1,
    p_event_types text[] DEFAULT NULL,
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.claim
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_worker text := ledger._checked_actor(p_worker);
    v_lease interval;
    v_tokens uuid[];
    v_picked bigint[];
BEGIN
    PERFORM ledger._checked_claim(p_limit, p_event_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Decided events with no lease: handed off, released, decided by a person, or freed by the
    -- rescue after their holder died. Picked in claim order, skipping rows other claimers hold; as
    -- in api.claim_events, a claim that names types reads only their queues.
    v_picked := ledger._pick_for_claim('actions', p_event_types, p_limit, v_now);
    -- The status does not change, so no audit row: the completion or failure that ends the action
    -- records who ran it.
    RETURN QUERY
    WITH claimed AS (
        UPDATE ledger.events e
           SET attempts = e.attempts + 1, lease_owner = v_worker, lease_token = v_tokens[p.n],
               lease_expires_at = v_now + v_lease,
               lease_fenced = true
          FROM unnest(v_picked) WITH ORDINALITY AS p (id, n)
         WHERE e.id = p.id AND e.id = ANY (v_picked)
        RETURNING e.*
    )
    SELECT c.id, c.customer_id, c.event_type, c.status, c.payload, c.priority, c.attempts,
           c.max_attempts, c.lease_token, c.lease_expires_at, c.result, c.change_reason,
           c.correlation_id, c.caused_by_event_id, c.created_at
      FROM claimed c
     ORDER BY c.priority DESC, c.id;
END
$$;
COMMENT ON FUNCTION api.claim_actions(text, integer, text[], timestamptz) IS
$$Claims up to p_limit decided (approved or rejected) events whose follow-up action is pending: no
lease (api.rescue_expired_leases frees expired ones), run_after passed. Same order and lease as api.claim_events; the status stays, each claim
counts an attempt at the action. Returns the claims with their lease tokens, the decision result and
its reason; finish each with api.complete_events or api.fail_events.$$;
GRANT EXECUTE ON FUNCTION api.claim_actions(text, integer, text[], timestamptz) TO agentledger_worker, agentledger_api;
-- end db/functions/claim_actions.sql

COMMIT;
