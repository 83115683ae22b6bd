-- Verify agentledger:roles on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_roles
            WHERE rolname IN ('agentledger_owner', 'agentledger_api', 'agentledger_worker',
                              'agentledger_auditor')
              AND NOT rolcanlogin AND NOT rolsuper) = 4,
        'the four agentledger roles must exist, NOLOGIN and not superuser';
END
$$;
