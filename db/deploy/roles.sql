-- Deploy agentledger:roles to pg
-- NOLOGIN group roles. Roles belong to the whole cluster, so this change only creates the ones that
-- are missing: several agentledger databases on one server share them.
BEGIN;

DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['agentledger_owner', 'agentledger_api', 'agentledger_worker',
                                  'agentledger_auditor']
    LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- created by another database's deploy, or by a concurrent one
        END;
    END LOOP;
END
$$;

COMMENT ON ROLE agentledger_owner IS
    'agentledger: owns every object; SECURITY DEFINER functions run as this role. Nobody logs in as it.';
COMMENT ON ROLE agentledger_api IS
    'agentledger: the HTTP API. May only EXECUTE the api functions granted to it; reads no table.';
COMMENT ON ROLE agentledger_worker IS
    'agentledger: workers (AI agents). May only EXECUTE the api functions granted to it; reads no table.';
COMMENT ON ROLE agentledger_auditor IS
    'agentledger: auditors. May read events, the audit trail and seals, and verify the chain.';

-- Client sessions must never hang on a lock or hold one open: a stuck transaction on an events row
-- would stall every worker behind it.
ALTER ROLE agentledger_api SET statement_timeout = '15s';
ALTER ROLE agentledger_api SET lock_timeout = '5s';
ALTER ROLE agentledger_api SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE agentledger_worker SET statement_timeout = '15s';
ALTER ROLE agentledger_worker SET lock_timeout = '5s';
ALTER ROLE agentledger_worker SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE agentledger_auditor SET statement_timeout = '10min';
ALTER ROLE agentledger_auditor SET lock_timeout = '5s';
ALTER ROLE agentledger_auditor SET idle_in_transaction_session_timeout = '5min';

COMMIT;
