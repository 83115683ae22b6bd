-- Verify agentledger:functions/read on pg
-- By name: each of these functions is now its own change (functions/<name>), whose later reworks
-- may change its arguments; this script checks that the group's functions exist.
SELECT 1 / (count(DISTINCT p.proname) = 3)::int
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace::regnamespace::text || '.' || p.proname IN ('api.get_event', 'api.list_events', 'api.event_history');
