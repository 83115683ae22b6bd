-- Deploy agentledger:tables/ordering to pg
-- Per-customer ordering: events of a type marked ordered_per_customer are claimed one at a time per
-- customer, in submission order, and a failed one holds the rest back until an operator re-queues
-- or cancels it (order_released_at). The claim rule itself is in api.claim_events.
BEGIN;
SET LOCAL ROLE agentledger_owner;

ALTER TABLE ledger.event_types ADD COLUMN ordered_per_customer boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN ledger.event_types.ordered_per_customer IS
    'Events of this type are handled one at a time per customer, in submission order, across all ordered types; applies to events submitted after it is set.';
-- No DEFAULT: adding a column with one is refused while functions use the row type of events
-- (ledger._as_api_event). Events submitted before this change read as not ordered (NULL).
ALTER TABLE ledger.events
    ADD COLUMN ordered boolean,
    ADD COLUMN order_released_at timestamptz;
COMMENT ON COLUMN ledger.events.ordered IS 'Of a type ordered per customer when submitted (set by a trigger; NULL before ordering existed, read as false): claimed only when no earlier ordered event of its customer is unfinished.';
COMMENT ON COLUMN ledger.events.order_released_at IS 'When an operator cancelled this event (or accepted its failure): it no longer holds back the customer''s later ordered events.';
GRANT SELECT (ordered, order_released_at) ON ledger.events TO agentledger_auditor;
-- What a claim of an ordered event looks behind: the unfinished ordered events of its customer.
CREATE INDEX events_ordered_open_idx ON ledger.events (customer_id, id)
    WHERE ordered AND status <> 'completed' AND order_released_at IS NULL;

INSERT INTO ledger.transitions (from_status, to_status, name, reason_required, description) VALUES
    ('failed', 'failed', 'note', true,
     'An operator cancels a failed event: its failure is accepted, and its customer''s later ordered events go on.');

-- begin db/functions/_set_ordered.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._set_ordered() RETURNS trigger
LANGUAGE plpgsql AS $$
-- BEFORE INSERT: an event of a type ordered per customer is ordered for good, whatever the row says.
BEGIN
    NEW.ordered := coalesce((SELECT t.ordered_per_customer FROM ledger.event_types t WHERE t.name = NEW.event_type), false);
    NEW.order_released_at := NULL;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._set_ordered() IS
    'Trigger: marks an event ordered when its type is ordered per customer (ledger.event_types.ordered_per_customer).';
-- end db/functions/_set_ordered.sql

CREATE TRIGGER _040_set_ordered BEFORE INSERT ON ledger.events
    FOR EACH ROW EXECUTE FUNCTION ledger._set_ordered();
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _040_set_ordered;

COMMIT;
