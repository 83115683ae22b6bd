-- Deploy agentledger:types/domains to pg
-- The limits of values that several layers used to check, each stated once: a domain per kind of
-- value. Functions take or cast their arguments to these types, so a value out of bounds is refused
-- with SQLSTATE 23514 naming the domain's constraint. Where a table or a set-based check needs the
-- same rule as a condition, the domain and it call one ledger._is_* function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE DOMAIN ledger.customer_id AS text
    CONSTRAINT customer_id_valid CHECK (ledger._is_customer_id(VALUE));
COMMENT ON DOMAIN ledger.customer_id IS
    'A bank customer''s id: 1-64 characters without control characters (ledger._is_customer_id).';

CREATE DOMAIN ledger.type_name AS text
    CONSTRAINT type_name_valid CHECK (ledger._is_type_name(VALUE));
COMMENT ON DOMAIN ledger.type_name IS
    'An event type''s name: a lowercase letter, then up to 49 of a-z 0-9 _ . - (ledger._is_type_name).';

CREATE DOMAIN ledger.idempotency_key AS text
    CONSTRAINT idempotency_key_valid CHECK (ledger._is_idempotency_key(VALUE));
COMMENT ON DOMAIN ledger.idempotency_key IS
    'A client''s idempotency key: 1-255 characters without control characters (ledger._is_idempotency_key).';

CREATE DOMAIN ledger.key_name AS text
    CONSTRAINT key_name_valid CHECK (ledger._is_key_name(VALUE));
COMMENT ON DOMAIN ledger.key_name IS
    'An API key''s name: a letter or digit, then up to 99 of letters, digits and . _ @ - (ledger._is_key_name).';

CREATE DOMAIN ledger.reason AS text
    CONSTRAINT reason_length CHECK (char_length(VALUE) <= 4000);
COMMENT ON DOMAIN ledger.reason IS
    'Why a change was made, or what went wrong: at most 4000 characters. Kept in the audit trail.';

CREATE DOMAIN ledger.actor_name AS text
    CONSTRAINT actor_name_valid CHECK (VALUE <> '' AND char_length(VALUE) <= 200 AND VALUE !~ '[[:cntrl:]]');
COMMENT ON DOMAIN ledger.actor_name IS
    'Who acts: an agent, a person or an API key name; 1-200 characters without control characters.';

COMMIT;
