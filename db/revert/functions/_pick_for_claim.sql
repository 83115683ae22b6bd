-- Revert agentledger:functions/_pick_for_claim from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_pick_for_claim.sql
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

COMMIT;
