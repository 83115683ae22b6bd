-- Verify agentledger:functions/worker_helpers on pg
-- By name: each of these functions is now its own change (functions/<name>), whose later reworks
-- may change its arguments; this script checks that the group's functions exist.
SELECT 1 / (count(DISTINCT p.proname) = 9)::int
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace::regnamespace::text || '.' || p.proname IN ('ledger._retry_delay', 'ledger._checked_claim', 'ledger._checked_report', 'ledger._refuse_bad_outcome_inputs', 'ledger._report_outcomes', 'ledger._report_digest', 'ledger._flat_length', 'ledger._count_by_type', 'ledger._wake_action_workers');
