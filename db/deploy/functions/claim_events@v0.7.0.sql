-- Deploy agentledger:functions/claim_events to pg
-- Written by agentledger/function_changes.py from db/functions/claim_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/claim_events.sql
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

COMMIT;
