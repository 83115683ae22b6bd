CREATE OR REPLACE FUNCTION ledger._refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
