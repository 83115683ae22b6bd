-- Deploy agentledger:tables/rule_checks to pg
-- The CHECK constraints that restated a value's rule call the one function that states it (see
-- types/domains). Same names, same rules: existing rows are validated again, without a rewrite.
BEGIN;
SET LOCAL ROLE agentledger_owner;

ALTER TABLE ledger.events
    DROP CONSTRAINT events_customer_id_valid,
    ADD CONSTRAINT events_customer_id_valid CHECK (ledger._is_customer_id(customer_id)),
    DROP CONSTRAINT events_idempotency_key_valid,
    ADD CONSTRAINT events_idempotency_key_valid CHECK (ledger._is_idempotency_key(idempotency_key));
ALTER TABLE ledger.event_types
    DROP CONSTRAINT event_types_name_format,
    ADD CONSTRAINT event_types_name_format CHECK (ledger._is_type_name(name));
ALTER TABLE ledger.api_keys
    DROP CONSTRAINT api_keys_name_format,
    ADD CONSTRAINT api_keys_name_format CHECK (ledger._is_key_name(name));

COMMIT;
