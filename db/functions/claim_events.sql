CREATE OR REPLACE FUNCTION api.claim_events(
    p_worker text,
    p_limit integer DEFAULT 1,
    p_event_types text[] DEFAULT NULL,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS SETOF api.claim
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{worker}');
    v_types text[] := ledger._claimable_types(v_acting, p_event_types);
    v_instance ledger.actor_name := p_worker;  -- the domain refuses an unreadable label (23514)
    v_lease interval;
    v_tokens uuid[];
    v_picked bigint[];
BEGIN
    PERFORM ledger._checked_claim(p_limit, v_types);
    SELECT s.lease_duration INTO v_lease FROM ledger.settings s;
    -- Tokens are drawn before the UPDATE, which only picks them by position: volatile functions
    -- inside an UPDATE are refused on a distributed (Citus) table.
    v_tokens := ARRAY(SELECT gen_random_uuid() FROM generate_series(1, p_limit));
    -- Pick in claim order (highest priority, then oldest), skipping rows other claimers hold.
    -- Ordered per customer: only the customer's first in line (its earliest open ordered event,
    -- marked by triggers) may be claimed, so at most one is held at a time, in submission order; a
    -- failed one holds the rest back until an operator re-queues or cancels it. The claim indexes
    -- leave the waiting ones out.
    v_picked := ledger._pick_for_claim('events', v_types, p_limit, v_now);
    -- One UPDATE takes a fenced lease on each, with a fresh token (by position in claim order); the
    -- statement's audit trigger writes one claim row per event. The rows are reached by id.
    RETURN QUERY
    WITH claimed AS (
        UPDATE ledger.events e
           SET status = 'processing', version = e.version + 1, changed_by = v_acting.principal,
               changed_by_kind = v_acting.kind, changed_by_key = v_acting.api_key, change_reason = NULL,
               change_details = jsonb_build_object('instance', v_instance),
               updated_at = v_now, attempts = e.attempts + 1, lease_owner = v_acting.principal,
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
COMMENT ON FUNCTION api.claim_events(text, integer, text[], timestamptz, text) IS
$$Claims up to p_limit queued events whose run_after has passed (of p_event_types, or of any type
when NULL), highest priority first, then oldest, skipping events other claimers are taking; of a
type ordered per customer, only the customer's first in line (ledger.events.first_in_line). Each
becomes processing under a lease of ledger.settings.lease_duration held by the acting principal
(of the worker key p_key, or of the login; a key limited to types claims only those), counts an
attempt, and gets one audit row, whose details name p_worker, the label of the worker instance. Returns the claims with their lease tokens, which every later report
must present.$$;
GRANT EXECUTE ON FUNCTION api.claim_events(text, integer, text[], timestamptz, text) TO agentledger_worker, agentledger_api;
