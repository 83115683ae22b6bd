-- Verify agentledger:database/privileges on pg
DO $$
BEGIN
    ASSERT NOT EXISTS (SELECT 1 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                        WHERE d.datname = current_database() AND a.grantee = 0
                          AND a.privilege_type IN ('CONNECT', 'TEMPORARY')),
           'PUBLIC may neither connect to this database nor create temporary objects in it';
    ASSERT has_database_privilege('agentledger_api', current_database(), 'CONNECT'),
           'agentledger_api may connect';
    ASSERT NOT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                        WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'),
           'PUBLIC may not create objects in schema public';
END
$$;
