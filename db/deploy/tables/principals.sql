-- Deploy agentledger:tables/principals to pg
-- Who acts is decided by the database from a credential it verifies, never from a name a client
-- passes. A principal is a person, an agent or a service; each API key belongs to one, and so does
-- each database login that workers or services use. Changes record the principal and the key that
-- acted (the login is db_user); four-eyes, leases and idempotency are per principal.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE DOMAIN ledger.principal_kind AS text
    CONSTRAINT principal_kind_known CHECK (VALUE IN ('human', 'agent', 'service'));
COMMENT ON DOMAIN ledger.principal_kind IS
    'human: a person (reviewer, operator, auditor, DBA); agent: an AI agent or worker; service: a program acting for the bank (an intake service). A human review needs a human principal.';

CREATE TABLE ledger.principals (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
        CONSTRAINT principals_name_format CHECK (ledger._is_key_name(name)),
    kind ledger.principal_kind NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user,
    deactivated_at timestamptz,
    deactivated_by text,
    deactivate_reason text,
    CONSTRAINT principals_deactivation_complete CHECK (
        active = (deactivated_at IS NULL) AND active = (deactivated_by IS NULL)
        AND active = (deactivate_reason IS NULL))
);
CREATE UNIQUE INDEX principals_name_key ON ledger.principals (name);
COMMENT ON TABLE ledger.principals IS
    'Who may act: people, agents and services. The actor of every change is a principal, found from the API key or the database login of the call. Names are never reused; a principal is deactivated, never deleted.';
COMMENT ON COLUMN ledger.principals.name IS 'Unique name, the actor in the audit trail.';
COMMENT ON COLUMN ledger.principals.kind IS 'human, agent or service (ledger.principal_kind).';
COMMENT ON COLUMN ledger.principals.active IS 'False once deactivated: its keys and logins then act no more.';
COMMENT ON COLUMN ledger.principals.id IS 'Surrogate key.';
COMMENT ON COLUMN ledger.principals.created_at IS 'When the principal was created.';
COMMENT ON COLUMN ledger.principals.created_by IS 'Database user who created it.';
COMMENT ON COLUMN ledger.principals.deactivated_at IS 'When it was deactivated; NULL while active.';
COMMENT ON COLUMN ledger.principals.deactivated_by IS 'Database user who deactivated it.';
COMMENT ON COLUMN ledger.principals.deactivate_reason IS 'Why it was deactivated.';

CREATE TABLE ledger.principal_logins (
    login text PRIMARY KEY,
    principal_id bigint NOT NULL REFERENCES ledger.principals (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE ledger.principal_logins IS
    'The database logins that act for a principal when they call the api functions directly (workers, services, a DBA in psql). PostgreSQL verified the login; a login listed nowhere acts for nobody.';
COMMENT ON COLUMN ledger.principal_logins.login IS 'The database role (session_user) that acts for the principal.';
COMMENT ON COLUMN ledger.principal_logins.principal_id IS 'The principal it acts for.';
COMMENT ON COLUMN ledger.principal_logins.created_at IS 'When the mapping was made.';
COMMENT ON COLUMN ledger.principal_logins.created_by IS 'Database user who made it.';

ALTER TABLE ledger.api_keys
    ADD COLUMN principal_id bigint REFERENCES ledger.principals (id),
    ADD COLUMN event_types text[],
    ADD COLUMN customers text
        CONSTRAINT api_keys_customers_length CHECK (char_length(customers) BETWEEN 1 AND 200);
COMMENT ON COLUMN ledger.api_keys.name IS 'Unique name of the key, recorded with its principal in every change made with it. Names are never reused, even after revocation.';
COMMENT ON COLUMN ledger.api_keys.principal_id IS 'The principal the key acts for.';
COMMENT ON COLUMN ledger.api_keys.event_types IS 'The event types the key may submit, claim and read; NULL: all.';
COMMENT ON COLUMN ledger.api_keys.customers IS 'A LIKE pattern of the customer ids the key may submit for and read (e.g. retail-%); NULL: all.';

-- Each key from before gets a principal of its own name; the kind follows its role.
INSERT INTO ledger.principals (name, kind, created_at, created_by)
SELECT k.name,
       CASE k.role WHEN 'reviewer' THEN 'human' WHEN 'auditor' THEN 'human' WHEN 'worker' THEN 'agent'
                   ELSE 'service' END,
       k.created_at, k.created_by
  FROM ledger.api_keys k
 ORDER BY k.id;
UPDATE ledger.api_keys k SET principal_id = p.id FROM ledger.principals p WHERE p.name = k.name;
ALTER TABLE ledger.api_keys ALTER COLUMN principal_id SET NOT NULL;

-- The principal that submitted each event (idempotency keys are its own) and the API key of the
-- latest change (NULL: a login acted). No DEFAULT in ADD COLUMN: refused while functions use the
-- row type of events.
ALTER TABLE ledger.events ADD COLUMN submitted_by text, ADD COLUMN changed_by_key text;
COMMENT ON COLUMN ledger.events.submitted_by IS 'The principal that submitted the event; idempotency keys are per submitter and customer.';
COMMENT ON COLUMN ledger.events.changed_by_key IS 'The API key used for the latest change; NULL when a database login acted directly.';
COMMENT ON COLUMN ledger.events.lease_owner IS 'The principal holding the lease, while one does; it acts under the lease with its token.';
GRANT SELECT (submitted_by, changed_by_key) ON ledger.events TO agentledger_auditor;
-- Events from before: their submitter is the actor of their first audit row. The update changes
-- no status, so no trigger writes or checks anything for it.
UPDATE ledger.events e SET submitted_by = a.actor
  FROM ledger.audit_log a
 WHERE a.event_id = e.id AND a.version = 1;
CREATE UNIQUE INDEX events_idempotency_per_submitter ON ledger.events (customer_id, submitted_by, idempotency_key)
    NULLS NOT DISTINCT WHERE idempotency_key IS NOT NULL;

-- The key is part of "the record of the latest change": it moves only with a status change, and a
-- raw UPDATE clears it (ledger._check_status_change).
DROP TRIGGER _100_check_status_change ON ledger.events;
CREATE TRIGGER _100_check_status_change
    BEFORE UPDATE OF status, version, changed_by, changed_by_kind, changed_by_key, change_reason, change_details
    ON ledger.events FOR EACH ROW
    WHEN (current_user <> 'agentledger_owner' OR NEW.status = OLD.status OR NEW.updated_at = OLD.updated_at)
    EXECUTE FUNCTION ledger._check_status_change();
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _100_check_status_change;

ALTER TABLE ledger.audit_log ADD COLUMN api_key text;
COMMENT ON COLUMN ledger.audit_log.actor IS 'The principal that made the change (for a raw write: the database user).';
COMMENT ON COLUMN ledger.audit_log.api_key IS 'The API key the principal used; NULL when its database login (db_user) acted directly. Part of the hash when set.';
GRANT SELECT (api_key) ON ledger.audit_log TO agentledger_auditor;

-- Who is acting in one call, as ledger._acting found it.
CREATE TYPE ledger.acting AS (
    principal text,
    kind ledger.actor_kind,
    api_key text,
    key_role text,
    event_types text[],
    customers text
);
COMMENT ON TYPE ledger.acting IS
    'The principal acting in a call (its audit actor kind: service principals act as system), the API key it used (NULL for a login) with that key''s role and scope.';

-- A new type rather than new attributes of api.api_key: the functions' earlier bodies, which a revert
-- restores, return api.api_key as it was.
CREATE TYPE api.key AS (
    name text,
    role text,
    principal text,
    event_types text[],
    customers text,
    lookup_prefix text,
    created_at timestamptz,
    created_by text,
    revoked_at timestamptz,
    revoked_by text,
    revoke_reason text
);
COMMENT ON TYPE api.key IS 'An API key as administrators and the API see it, with its principal and scope: never the key or its hash.';
ALTER TYPE api.audit_entry ADD ATTRIBUTE api_key text;

CREATE TYPE api.principal AS (
    name text,
    kind text,
    active boolean,
    logins text[],
    keys text[],
    created_at timestamptz,
    deactivated_at timestamptz,
    deactivate_reason text
);
COMMENT ON TYPE api.principal IS 'A principal as administrators see it, with its logins and its valid keys.';

COMMIT;
