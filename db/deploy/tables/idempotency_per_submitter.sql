-- Deploy agentledger:tables/idempotency_per_submitter to pg
-- Idempotency keys belong to the principal that submitted (events_idempotency_per_submitter, from
-- tables/principals): another key can no longer replay or block them. The index that made them
-- unique per customer alone goes, now that the submit functions use the new one.
BEGIN;
SET LOCAL ROLE agentledger_owner;
DROP INDEX ledger.events_idempotency_key_unique;
COMMIT;
