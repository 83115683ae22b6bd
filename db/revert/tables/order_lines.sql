-- Revert agentledger:tables/order_lines from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;
DROP TRIGGER _600_settle_lines_after_update ON ledger.events;
DROP TRIGGER _600_settle_lines_after_insert ON ledger.events;
DROP TRIGGER _045_check_line_change ON ledger.events;
DROP FUNCTION ledger._check_line_change();
DROP FUNCTION ledger._settle_lines_after_write();
DROP FUNCTION ledger._settle_lines(text[]);
DROP INDEX ledger.events_claim_by_type_idx;
DROP INDEX ledger.events_claim_order_idx;
CREATE INDEX events_claim_order_idx ON ledger.events (priority DESC, id) WHERE status = 'queued';
CREATE INDEX events_claim_by_type_idx ON ledger.events (event_type, priority DESC, id) WHERE status = 'queued';
COMMENT ON INDEX ledger.events_claim_by_type_idx IS
    'Claim order within an event type: claims that name types read only their own queued events.';
DROP INDEX ledger.events_first_in_line_key;
ALTER TABLE ledger.events DROP COLUMN first_in_line;
DROP TABLE ledger.order_lines;
COMMIT;
