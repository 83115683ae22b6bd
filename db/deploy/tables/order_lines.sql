-- Deploy agentledger:tables/order_lines to pg
-- Per-customer ordering kept as a mark instead of found by a search. Each customer's earliest open
-- ordered event (not completed, not released by an operator) is marked first_in_line, and claims
-- take ordered events only with that mark, from indexes that leave the waiting ones out: a claim
-- reads as few rows with a deep backlog of a few customers as with none. The mark moves at the end
-- of each statement that changes a line (ledger._settle_lines_after_write), under a per-customer
-- row lock in ledger.order_lines; at most one open event per customer can hold it (a unique index).
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.order_lines (
    customer_id text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    settled_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ledger.order_lines IS
    'One row per customer that has had ordered events: the lock taken, in customer order, while the customer''s first_in_line mark is moved. Rows are added as needed and never need removing.';
COMMENT ON COLUMN ledger.order_lines.customer_id IS 'The customer whose ordered events this line orders.';
COMMENT ON COLUMN ledger.order_lines.version IS
    'Moves with every settlement, so a transaction with an older snapshot fails to serialize instead of settling from a stale view.';
COMMENT ON COLUMN ledger.order_lines.settled_at IS 'When the line was last settled.';

-- No DEFAULT in ADD COLUMN (refused while functions use the row type of events); set after.
ALTER TABLE ledger.events ADD COLUMN first_in_line boolean;
ALTER TABLE ledger.events ALTER COLUMN first_in_line SET DEFAULT false;
COMMENT ON COLUMN ledger.events.first_in_line IS
    'Of an ordered event: true when it is its customer''s earliest open ordered event, the only one claims may take; false while it waits behind it; NULL while a re-queued event re-joins the line. Kept by triggers.';
GRANT SELECT (first_in_line) ON ledger.events TO agentledger_auditor;

-- The lines as they are now: every open ordered event waits, the earliest of each customer is first.
UPDATE ledger.events e SET first_in_line = false
 WHERE e.ordered AND e.status <> 'completed' AND e.order_released_at IS NULL;
UPDATE ledger.events e SET first_in_line = true
  FROM (SELECT DISTINCT ON (o.customer_id) o.customer_id, o.id FROM ledger.events o
         WHERE o.ordered AND o.status <> 'completed' AND o.order_released_at IS NULL
         ORDER BY o.customer_id, o.id) f
 WHERE e.customer_id = f.customer_id AND e.id = f.id;

CREATE UNIQUE INDEX events_first_in_line_key ON ledger.events (customer_id)
    WHERE first_in_line AND status <> 'completed' AND order_released_at IS NULL;
COMMENT ON INDEX ledger.events_first_in_line_key IS
    'At most one open ordered event per customer is first in line, so at most one is held at a time.';

-- The claim indexes leave out ordered events that wait behind their customer's first.
DROP INDEX ledger.events_claim_order_idx;
DROP INDEX ledger.events_claim_by_type_idx;
CREATE INDEX events_claim_order_idx ON ledger.events (priority DESC, id)
    WHERE status = 'queued' AND (ordered IS NOT TRUE OR first_in_line);
CREATE INDEX events_claim_by_type_idx ON ledger.events (event_type, priority DESC, id)
    WHERE status = 'queued' AND (ordered IS NOT TRUE OR first_in_line);
COMMENT ON INDEX ledger.events_claim_order_idx IS
    'Claim order of claimable queued events: highest priority first, then oldest; ordered events only when first in line.';
COMMENT ON INDEX ledger.events_claim_by_type_idx IS
    'Claim order within an event type: claims that name types read only their own claimable queued events.';

-- begin db/functions/_settle_lines.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._settle_lines(p_customers text[]) RETURNS jsonb
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

-- begin db/functions/_settle_lines_after_write.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._settle_lines_after_write() RETURNS trigger
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

-- begin db/functions/_check_line_change.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._check_line_change() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE UPDATE of what decides an event's place in its customer's line, whoever writes it: the
-- line can only move the ways the api functions move it, so a raw UPDATE cannot stall it or let
-- two events of one customer be held at once.
BEGIN
    IF NEW.ordered IS DISTINCT FROM OLD.ordered THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: whether it is ordered per customer is fixed when it is submitted', OLD.id),
            DETAIL = 'ordered comes from ledger.event_types.ordered_per_customer at submit.',
            HINT = 'Change the event type''s ordered_per_customer for events submitted from now on.';
    END IF;
    IF NEW.first_in_line IS DISTINCT FROM OLD.first_in_line AND current_user <> 'agentledger_owner' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL012',
            MESSAGE = format('event %s: first_in_line is kept by the database', OLD.id),
            DETAIL = 'It marks the customer''s earliest open ordered event and moves when that one completes or is released.',
            HINT = 'To let the line go on, cancel the failed event that holds it (api.cancel_event); to put it back, re-queue it (api.requeue_event).';
    END IF;
    IF NEW.ordered AND NEW.order_released_at IS NOT NULL AND NEW.status <> 'failed' THEN
        IF OLD.order_released_at IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'AL003',
                MESSAGE = format('event %s is %s; only a failed ordered event can give up its place in line', OLD.id, NEW.status),
                HINT = 'Cancel a queued event (api.cancel_event): it fails and gives up its place.';
        END IF;
        NEW.order_released_at := NULL;  -- a released event leaving failed (re-queued) is back in line
    END IF;
    IF NEW.ordered AND OLD.order_released_at IS NOT NULL AND NEW.order_released_at IS NULL THEN
        -- Back in line, not first yet: the statement's ledger._settle_lines_after_write decides.
        NEW.first_in_line := NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._check_line_change() IS
    'Trigger: ordered is write-once (AL012); only the database moves first_in_line (AL012); only a failed ordered event gives up its place (AL003); a released event that is re-queued re-joins its line unsettled (first_in_line NULL).';
-- end db/functions/_check_line_change.sql

CREATE TRIGGER _045_check_line_change BEFORE UPDATE OF status, ordered, order_released_at, first_in_line ON ledger.events
    FOR EACH ROW WHEN (NEW.ordered IS DISTINCT FROM OLD.ordered OR NEW.first_in_line IS DISTINCT FROM OLD.first_in_line
                       OR NEW.order_released_at IS DISTINCT FROM OLD.order_released_at
                       OR NEW.order_released_at IS NOT NULL AND NEW.status <> 'failed')
    EXECUTE FUNCTION ledger._check_line_change();
CREATE TRIGGER _600_settle_lines_after_insert AFTER INSERT ON ledger.events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._settle_lines_after_write();
CREATE TRIGGER _600_settle_lines_after_update AFTER UPDATE ON ledger.events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ledger._settle_lines_after_write();
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _045_check_line_change;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _600_settle_lines_after_insert;
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _600_settle_lines_after_update;

COMMIT;
