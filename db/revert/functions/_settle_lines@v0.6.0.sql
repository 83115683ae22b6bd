-- Revert agentledger:functions/_settle_lines from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_settle_lines.sql
CREATE OR REPLACE FUNCTION ledger._settle_lines(p_customers text[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
-- Gives each of these customers' lines a first event when it has none: the earliest open ordered
-- event (not completed, not released) becomes first_in_line, the only one of its customer that
-- claims may take. Returns how many of those are runnable now, by type ({"<type>": n}), for the
-- wake-up.
DECLARE
    v_woken jsonb := '{}'::jsonb;
    v_round jsonb;
    v_skipped bigint;
BEGIN
    -- Lines are taken in one sorted pass, so two transactions settling lines never wait for each
    -- other in a cycle. Each one's version moves, so a transaction whose snapshot is older than the
    -- last settlement (REPEATABLE READ) fails to serialize instead of settling from a stale view.
    INSERT INTO ledger.order_lines AS l (customer_id)
    SELECT c FROM unnest(p_customers) c ORDER BY c
    ON CONFLICT (customer_id) DO UPDATE SET version = l.version + 1, settled_at = now();
    -- Every statement below sees what the line's earlier holders committed. An event picked as first
    -- may be changed by another transaction before this one takes it (an operator cancels it): the
    -- UPDATE then skips it, and the next round picks again. Lines that have a first event, the
    -- common case, cost one probe of the unique index each; the rest one more, of the open events.
    LOOP
        WITH headless AS (
            SELECT c.customer_id FROM unnest(p_customers) c (customer_id)
             WHERE NOT EXISTS (
                   SELECT 1 FROM ledger.events h
                    WHERE h.customer_id = c.customer_id AND h.first_in_line AND h.status <> 'completed'
                      AND h.order_released_at IS NULL)
        ), first AS (
            SELECT f.customer_id, f.id
              FROM headless c
             CROSS JOIN LATERAL (
                   SELECT o.customer_id, o.id FROM ledger.events o
                    WHERE o.customer_id = c.customer_id AND o.ordered AND o.status <> 'completed'
                      AND o.order_released_at IS NULL
                    ORDER BY o.id LIMIT 1) f
        ), promoted AS (
            UPDATE ledger.events e SET first_in_line = true
              FROM first f
             WHERE e.customer_id = f.customer_id AND e.id = f.id
               AND e.status <> 'completed' AND e.order_released_at IS NULL
            RETURNING e.event_type, e.status, e.run_after
        )
        SELECT (SELECT count(*) FROM first) - (SELECT count(*) FROM promoted),
               (SELECT jsonb_object_agg(q.event_type, q.n)
                  FROM (SELECT p.event_type, count(*) AS n FROM promoted p
                         WHERE p.status = 'queued' AND p.run_after <= now() GROUP BY p.event_type) q)
          INTO v_skipped, v_round;
        v_woken := v_woken || coalesce(v_round, '{}'::jsonb);
        EXIT WHEN v_skipped = 0;
    END LOOP;
    RETURN v_woken;
END
$$;
COMMENT ON FUNCTION ledger._settle_lines(text[]) IS
    'Takes the order lines of these customers (sorted) and makes the earliest open ordered event of each line without one first_in_line; returns the runnable ones by type.';
-- end db/functions/_settle_lines.sql

COMMIT;
