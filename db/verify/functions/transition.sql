-- Verify agentledger:functions/transition on pg
-- By name: each of these functions is now its own change (functions/<name>), whose later reworks
-- may change its arguments; this script checks that the group's functions exist.
SELECT 1 / (count(DISTINCT p.proname) = 4)::int
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace::regnamespace::text || '.' || p.proname IN ('api.transition_event', 'ledger._refuse_foreign_lease', 'api.requeue_event', 'api.cancel_event');
