-- Revert agentledger:functions/_refuse_audit_change from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_refuse_audit_change.sql
CREATE OR REPLACE FUNCTION ledger._refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL011',
        MESSAGE = format('%s on %s refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME),
        DETAIL = 'Audit rows and seals are never updated, deleted or truncated, by any role.',
        HINT = 'Record a correction as a new status change; it gets its own audit row.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_audit_change() IS
    'Trigger: refuses UPDATE, DELETE and TRUNCATE on the audit trail and its seals (SQLSTATE AL011).';
-- end db/functions/_refuse_audit_change.sql

COMMIT;
