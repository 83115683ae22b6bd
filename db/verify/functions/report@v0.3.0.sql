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
           AND (p.proconfig::text LIKE '%plan_cache_mode%' OR p.prosrc NOT LIKE '%EXECUTE $sql$%')),
           'the batch reports plan only their UPDATE per call; the rest keeps cached plans';
END
$$;
