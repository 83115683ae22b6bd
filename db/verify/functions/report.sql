-- Verify agentledger:functions/report on pg
DO $$
BEGIN
    ASSERT NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid IN ('api.heartbeat_events(bigint[], uuid[], timestamptz)'::regprocedure,
                         'api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz)'::regprocedure,
                         'api.complete_events(bigint[], uuid[], jsonb[], timestamptz)'::regprocedure,
                         'api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz)'::regprocedure,
                         'api.release_events(bigint[], uuid[], text, timestamptz)'::regprocedure)
           AND (p.proconfig IS DISTINCT FROM '{"search_path=pg_catalog, pg_temp",plan_cache_mode=force_generic_plan}'
                OR p.prosrc NOT LIKE '%EXECUTE $sql$%')),
           'the batch reports keep generic plans for all but their UPDATE, which EXECUTE plans per call';
END
$$;
