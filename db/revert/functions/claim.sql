-- Revert agentledger:functions/claim from pg
-- Back to the claims of @v0.4.0 (db/deploy/functions/claim@v0.4.0.sql, and claim_actions of
-- db/deploy/functions/claim@v0.3.0.sql): an ordered event is claimable when no earlier ordered event
-- of its customer is open, and types are matched with = ANY.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE OR REPLACE FUNCTION api.claim_events(
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
BEGIN
    PERFORM ledger._checked_claim(p_limit, p_event_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- One statement: pick in claim order skipping rows other claimers hold, take a fenced lease
    -- with a fresh token each; the statement's audit trigger writes one claim row per event.
    RETURN QUERY
    WITH picked AS (
        SELECT e.customer_id, e.id, e.priority FROM ledger.events e
         WHERE e.status = 'queued' AND e.run_after <= v_now AND e.attempts < e.max_attempts
           AND (p_event_types IS NULL OR e.event_type = ANY (p_event_types))
           -- Ordered per customer: only the customer's earliest unfinished ordered event may be
           -- claimed, so at most one is held at a time, in submission order; a failed one holds
           -- the rest back until an operator re-queues or cancels it.
           AND (e.ordered IS NOT TRUE OR NOT EXISTS (
                SELECT 1 FROM ledger.events o
                 WHERE o.customer_id = e.customer_id AND o.ordered AND o.id < e.id
                   AND o.status <> 'completed' AND o.order_released_at IS NULL))
         ORDER BY e.priority DESC, e.id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY p.priority DESC, p.id) AS n FROM picked p
    ), claimed AS (
        UPDATE ledger.events e
           SET status = 'processing', version = e.version + 1, changed_by = v_worker,
               changed_by_kind = 'agent', change_reason = NULL, change_details = NULL,
               updated_at = v_now, attempts = e.attempts + 1, lease_owner = v_worker,
               lease_token = v_tokens[p.n], lease_expires_at = v_now + v_lease, lease_fenced = true
          FROM numbered p
         WHERE e.customer_id = p.customer_id AND e.id = p.id
        RETURNING e.*
    )
    SELECT c.id, c.customer_id, c.event_type, c.status, c.payload, c.priority, c.attempts,
           c.max_attempts, c.lease_token, c.lease_expires_at, c.result, NULL::text, c.correlation_id,
           c.caused_by_event_id, c.created_at
      FROM claimed c
     ORDER BY c.priority DESC, c.id;
END
$$;
COMMENT ON FUNCTION api.claim_events(text, integer, text[], timestamptz) IS
$$Claims up to p_limit queued events whose run_after has passed (of p_event_types, or of any type
when NULL), highest priority first, then oldest, skipping events other claimers are taking; of a
type ordered per customer, only the customer's earliest unfinished ordered event. Each
becomes processing under a lease of ledger.settings.lease_duration held by p_worker, counts an
attempt, and gets one audit row. Returns the claims with their lease tokens, which every later report
must present.$$;
GRANT EXECUTE ON FUNCTION api.claim_events(text, integer, text[], timestamptz) TO agentledger_worker, agentledger_api;

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
BEGIN
    PERFORM ledger._checked_claim(p_limit, p_event_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Decided events with no lease: handed off, released, decided by a person, or freed by the
    -- rescue after their holder died. The status does not change, so no audit row: the completion
    -- or failure that ends the action records who ran it.
    RETURN QUERY
    WITH picked AS (
        SELECT e.customer_id, e.id, e.priority FROM ledger.events e
         WHERE e.status IN ('approved', 'rejected')
           AND e.lease_token IS NULL
           AND e.run_after <= v_now AND e.attempts < e.max_attempts
           AND (p_event_types IS NULL OR e.event_type = ANY (p_event_types))
         ORDER BY e.priority DESC, e.id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY p.priority DESC, p.id) AS n FROM picked p
    ), claimed AS (
        UPDATE ledger.events e
           SET attempts = e.attempts + 1, lease_owner = v_worker, lease_token = v_tokens[p.n],
               lease_expires_at = v_now + v_lease,
               lease_fenced = true
          FROM numbered p
         WHERE e.customer_id = p.customer_id AND e.id = p.id
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

DROP FUNCTION ledger._pick_for_claim(text, text[], integer, timestamptz);
COMMIT;
