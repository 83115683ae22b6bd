-- Verify agentledger:functions/submit on pg
-- By name: each of these functions is now its own change (functions/<name>), whose later reworks
-- may change its arguments; this script checks that the group's functions exist.
SELECT 1 / (count(DISTINCT p.proname) = 2)::int
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace::regnamespace::text || '.' || p.proname IN ('api.submit_events', 'api.submit_event');
DO $$
BEGIN
    ASSERT (SELECT bool_and(has_function_privilege('agentledger_api', p.oid, 'EXECUTE')) FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'api'::regnamespace AND p.proname = 'submit_events'), 'api role may submit';
END
$$;
