-- Revert agentledger:tables/ordering from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;
DROP TRIGGER _040_set_ordered ON ledger.events;
DROP FUNCTION ledger._set_ordered();
DELETE FROM ledger.transitions WHERE from_status = 'failed' AND to_status = 'failed';
DROP INDEX ledger.events_ordered_open_idx;
ALTER TABLE ledger.events DROP COLUMN order_released_at, DROP COLUMN ordered;
ALTER TABLE ledger.event_types DROP COLUMN ordered_per_customer;
COMMIT;
