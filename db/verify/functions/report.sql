-- Verify agentledger:functions/report on pg
-- By name: each report function is now its own change (functions/<name>), whose later reworks may
-- change its arguments.
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_proc p
             WHERE p.pronamespace = 'api'::regnamespace
               AND p.proname IN ('heartbeat_events', 'decide_events', 'complete_events', 'fail_events',
                                 'release_events')) = 5,
           'the five batch reports exist, once each';
    ASSERT NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.pronamespace = 'api'::regnamespace
           AND p.proname IN ('heartbeat_events', 'decide_events', 'complete_events', 'fail_events', 'release_events')
           AND (p.proconfig IS DISTINCT FROM '{"search_path=pg_catalog, pg_temp",plan_cache_mode=force_generic_plan}'
                OR p.prosrc NOT LIKE '%EXECUTE $sql$%')),
           'the batch reports keep generic plans for all but their UPDATE, which EXECUTE plans per call';
END
$$;
