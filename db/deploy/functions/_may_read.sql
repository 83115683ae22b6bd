-- Deploy agentledger:functions/_may_read to pg
-- Written by `agentledger db functions` from db/functions/_may_read.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_may_read.sql
CREATE OR REPLACE FUNCTION ledger._may_read(p_reader ledger.acting, p_event ledger.events) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
-- What a key may read: an auditor everything; any other key what lies in its scope, and a
-- submitter only what its principal submitted. A login (no key) reads by its grants.
RETURN p_reader IS NULL OR p_reader.principal IS NULL OR p_reader.key_role = 'auditor'
    OR ledger._in_scope(p_reader, p_event.customer_id, p_event.event_type)
       AND (p_reader.key_role <> 'submitter' OR p_event.submitted_by = p_reader.principal);
COMMENT ON FUNCTION ledger._may_read(ledger.acting, ledger.events) IS
    'Whether the reader (ledger._reader: NULL for a login) may read the event: auditors all, other keys within their scope, submitters only their principal''s submissions.';
-- end db/functions/_may_read.sql

COMMIT;
