-- Revert agentledger:functions/_set_ordered from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_set_ordered.sql
CREATE OR REPLACE FUNCTION ledger._set_ordered() RETURNS trigger
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

COMMIT;
