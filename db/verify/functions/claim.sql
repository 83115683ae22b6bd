-- Verify agentledger:functions/claim on pg
-- By name: each of these functions is now its own change (functions/<name>), whose later reworks
-- may change its arguments; this script checks that the group's functions exist.
SELECT 1 / (count(DISTINCT p.proname) = 2)::int
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace::regnamespace::text || '.' || p.proname IN ('api.claim_events', 'api.claim_actions');
