-- Revert agentledger:roles from pg
-- Drops the roles unless another database on this server still uses them; then they stay, with a
-- NOTICE, because dropping them would break that database.
BEGIN;

DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['agentledger_api', 'agentledger_worker', 'agentledger_auditor',
                                  'agentledger_owner']
    LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role);
        EXECUTE format('DROP OWNED BY %I', v_role);
        BEGIN
            EXECUTE format('DROP ROLE %I', v_role);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'role % kept: another database still uses it', v_role;
        END;
    END LOOP;
END
$$;

COMMIT;
