-- Deploy agentledger:tables/api_keys to pg
-- Keys for the HTTP API. Only a sha256 of each key is stored: keys are 256-bit random strings, so a
-- fast hash is enough (no password stretching needed) and a stolen table yields no usable key.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
        CONSTRAINT api_keys_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$'),
    role text NOT NULL
        CONSTRAINT api_keys_role_known CHECK (role IN ('submitter', 'worker', 'reviewer', 'auditor')),
    lookup_prefix text NOT NULL
        CONSTRAINT api_keys_lookup_prefix_format CHECK (lookup_prefix ~ '^[0-9a-f]{12}$'),
    secret_sha256 bytea NOT NULL
        CONSTRAINT api_keys_secret_sha256_length CHECK (octet_length(secret_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user,
    revoked_at timestamptz,
    revoked_by text,
    revoke_reason text,
    CONSTRAINT api_keys_revocation_complete CHECK (
        (revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);
CREATE UNIQUE INDEX api_keys_name_key ON ledger.api_keys (name);
CREATE UNIQUE INDEX api_keys_lookup_prefix_key ON ledger.api_keys (lookup_prefix);

COMMENT ON TABLE ledger.api_keys IS
    'API keys of the HTTP API: a name (the actor recorded in the audit trail), a role deciding which endpoints it may call, and only a sha256 of the key itself. Managed through api.create_api_key and api.revoke_api_key.';
COMMENT ON COLUMN ledger.api_keys.id IS 'Surrogate key.';
COMMENT ON COLUMN ledger.api_keys.name IS 'Unique name of the key holder; the actor of every change made with the key. Names are never reused, even after revocation.';
COMMENT ON COLUMN ledger.api_keys.role IS 'submitter, worker, reviewer or auditor: which endpoints the key may call.';
COMMENT ON COLUMN ledger.api_keys.lookup_prefix IS 'The 12 hex characters after "al_" in the key: finds the row without scanning hashes.';
COMMENT ON COLUMN ledger.api_keys.secret_sha256 IS 'sha256 of the whole key text.';
COMMENT ON COLUMN ledger.api_keys.created_at IS 'When the key was created.';
COMMENT ON COLUMN ledger.api_keys.created_by IS 'Database user who created it.';
COMMENT ON COLUMN ledger.api_keys.revoked_at IS 'When it was revoked; NULL while it is valid.';
COMMENT ON COLUMN ledger.api_keys.revoked_by IS 'Database user who revoked it.';
COMMENT ON COLUMN ledger.api_keys.revoke_reason IS 'Why it was revoked.';

COMMIT;
