-- Revert agentledger:tables/idempotency_per_submitter from pg
-- Fails if two principals have used the same idempotency key for one customer: such a database
-- cannot go back to keys unique per customer without deciding which event keeps it.
BEGIN;
SET LOCAL ROLE agentledger_owner;
CREATE UNIQUE INDEX events_idempotency_key_unique ON ledger.events (customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMIT;
