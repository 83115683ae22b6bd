-- Revert agentledger:tables/rule_checks from pg
-- The constraints as tables/events, tables/event_types and tables/api_keys wrote them.
BEGIN;
SET LOCAL ROLE agentledger_owner;

ALTER TABLE ledger.events
    DROP CONSTRAINT events_customer_id_valid,
    ADD CONSTRAINT events_customer_id_valid CHECK (
        customer_id <> '' AND char_length(customer_id) <= 64 AND customer_id !~ '[[:cntrl:]]'),
    DROP CONSTRAINT events_idempotency_key_valid,
    ADD CONSTRAINT events_idempotency_key_valid CHECK (
        idempotency_key IS NULL
        OR (idempotency_key <> '' AND char_length(idempotency_key) <= 255
            AND idempotency_key !~ '[[:cntrl:]]'));
ALTER TABLE ledger.event_types
    DROP CONSTRAINT event_types_name_format,
    ADD CONSTRAINT event_types_name_format CHECK (name ~ '^[a-z][a-z0-9_.-]{0,49}$');
ALTER TABLE ledger.api_keys
    DROP CONSTRAINT api_keys_name_format,
    ADD CONSTRAINT api_keys_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$');

COMMIT;
