-- Deploy agentledger:functions/_settle_lines_after_write to pg
-- Written by agentledger/function_changes.py from db/functions/_settle_lines_after_write.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_settle_lines_after_write.sql
CREATE OR REPLACE FUNCTION ledger._settle_lines_after_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- AFTER INSERT or UPDATE ... FOR EACH STATEMENT. The lines to settle: after an INSERT, those of the
-- new ordered events; after an UPDATE, those whose first event left (completed, or released by an
-- operator) and those an event re-joined (first_in_line NULL, set by ledger._check_line_change). Every
-- other write, the common case, costs one pass over the statement's rows.
DECLARE
    v_customers text[];
    v_woken jsonb;
BEGIN
    SELECT array_agg(DISTINCT n.customer_id ORDER BY n.customer_id) INTO v_customers
      FROM new_events n
     WHERE n.ordered
       AND (TG_OP = 'INSERT' OR n.first_in_line IS NULL
            OR n.first_in_line AND (n.status = 'completed' OR n.order_released_at IS NOT NULL));
    IF v_customers IS NULL THEN
        RETURN NULL;
    END IF;
    v_woken := ledger._settle_lines(v_customers);
    IF TG_OP = 'UPDATE' THEN
        -- Re-joined events that did not become first wait like the others.
        UPDATE ledger.events e SET first_in_line = false
          FROM new_events n
         WHERE n.ordered AND n.first_in_line IS NULL
           AND e.customer_id = n.customer_id AND e.id = n.id AND e.first_in_line IS NULL;
        -- A customer's next event may be claimed now. (New events are announced by their submit.)
        PERFORM ledger._wake_workers(v_woken);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._settle_lines_after_write() IS
    'Trigger: after a statement that adds ordered events, finishes a customer''s first one or re-queues a released one, settles those customers'' order lines (ledger._settle_lines).';
-- end db/functions/_settle_lines_after_write.sql

COMMIT;
