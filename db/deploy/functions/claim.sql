-- Deploy agentledger:functions/claim to pg
-- Claims take an ordered event only when it is first in its customer's line (the first_in_line mark
-- of tables/order_lines) instead of looking behind each queued one. A claim of events or of actions
-- that names types reads each type's queue in its own order (the by-type indexes), and the claimed
-- rows are reached by id. Bodies replaced; the signatures stay.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_pick_for_claim.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._pick_for_claim(
    p_queue text, p_event_types text[], p_limit integer, p_now timestamptz)
RETURNS bigint[]
LANGUAGE plpgsql AS $$
-- The ids a claim takes from p_queue ('events': queued and claimable; 'actions': decided, action
-- pending), at most p_limit, in claim order (highest priority, then oldest), locked FOR UPDATE SKIP
-- LOCKED so concurrent claims take different ones. Given types, each type's queue is read on its
-- own, through its by-type index, and the results merged: no other type's backlog is read. Each
-- read is planned for its own type (EXECUTE), so the plan follows that type's statistics; a plan
-- made for "some type" may walk the whole queue filtering by type. With several types, up to
-- p_limit events of each are locked; those not taken are free again when the claim commits.
DECLARE
    v_claimable text := CASE p_queue
        WHEN 'events' THEN $c$e.status = 'queued' AND (e.ordered IS NOT TRUE OR e.first_in_line)$c$
        WHEN 'actions' THEN $c$e.status IN ('approved', 'rejected') AND e.lease_token IS NULL$c$ END;
    v_pick text := format($q$SELECT ARRAY(SELECT e.id FROM ledger.events e
                              WHERE %s AND e.run_after <= $1 AND e.attempts < e.max_attempts %s
                              ORDER BY e.priority DESC, e.id LIMIT $2 FOR UPDATE SKIP LOCKED)$q$,
                          v_claimable, CASE WHEN p_event_types IS NOT NULL THEN 'AND e.event_type = $3' ELSE '' END);
    v_types text[] := ARRAY(SELECT DISTINCT u.t FROM unnest(p_event_types) u (t));
    v_type text;
    v_ids bigint[];
    v_found bigint[] := '{}';
BEGIN
    IF p_event_types IS NULL THEN
        EXECUTE v_pick INTO v_found USING p_now, p_limit;
        RETURN v_found;
    END IF;
    FOREACH v_type IN ARRAY v_types LOOP
        EXECUTE v_pick INTO v_ids USING p_now, p_limit, v_type;
        v_found := v_found || v_ids;
    END LOOP;
    IF cardinality(v_types) = 1 THEN
        RETURN v_found;
    END IF;
    RETURN ARRAY(SELECT e.id FROM ledger.events e WHERE e.id = ANY (v_found)
                  ORDER BY e.priority DESC, e.id LIMIT p_limit);
END
$$;
COMMENT ON FUNCTION ledger._pick_for_claim(text, text[], integer, timestamptz) IS
    'The ids of the events a claim takes (p_queue events or actions), in claim order, locked FOR UPDATE SKIP LOCKED; each named type''s queue read on its own through its by-type index.';
-- end db/functions/_pick_for_claim.sql

-- begin db/functions/claim_events.sql (copied by db/sync_functions.py; edit that file, then run it)
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
    v_picked bigint[];
BEGIN
    PERFORM ledger._checked_claim(p_limit, p_event_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Pick in claim order (highest priority, then oldest), skipping rows other claimers hold.
    -- Ordered per customer: only the customer's first in line (its earliest open ordered event,
    -- marked by triggers) may be claimed, so at most one is held at a time, in submission order; a
    -- failed one holds the rest back until an operator re-queues or cancels it. The claim indexes
    -- leave the waiting ones out.
    v_picked := ledger._pick_for_claim('events', p_event_types, p_limit, v_now);
    -- One UPDATE takes a fenced lease on each, with a fresh token (by position in claim order); the
    -- statement's audit trigger writes one claim row per event. The rows are reached by id.
    RETURN QUERY
    WITH claimed AS (
        UPDATE ledger.events e
           SET status = 'processing', version = e.version + 1, changed_by = v_worker,
               changed_by_kind = 'agent', change_reason = NULL, change_details = NULL,
               updated_at = v_now, attempts = e.attempts + 1, lease_owner = v_worker,
               lease_token = v_tokens[p.n], lease_expires_at = v_now + v_lease, lease_fenced = true
          FROM unnest(v_picked) WITH ORDINALITY AS p (id, n)
         WHERE e.id = p.id AND e.id = ANY (v_picked)
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
type ordered per customer, only the customer's first in line (ledger.events.first_in_line). Each
becomes processing under a lease of ledger.settings.lease_duration held by p_worker, counts an
attempt, and gets one audit row. Returns the claims with their lease tokens, which every later report
must present.$$;
GRANT EXECUTE ON FUNCTION api.claim_events(text, integer, text[], timestamptz) TO agentledger_worker, agentledger_api;
-- end db/functions/claim_events.sql

-- begin db/functions/claim_actions.sql (copied by db/sync_functions.py; edit that file, then run it)
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
