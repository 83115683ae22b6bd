-- Verify agentledger:schemas on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_namespace
            WHERE nspname IN ('ledger', 'api')
              AND nspowner = 'agentledger_owner'::regrole) = 2,
        'schemas ledger and api must exist and belong to agentledger_owner';
    ASSERT NOT has_schema_privilege('agentledger_api', 'ledger', 'USAGE'),
        'the api role must not see the ledger schema';
END
$$;
