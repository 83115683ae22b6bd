-- Verify agentledger:tables/idempotency_per_submitter on pg
SELECT 1 / (count(*) = 0)::int FROM pg_catalog.pg_indexes
 WHERE schemaname = 'ledger' AND indexname = 'events_idempotency_key_unique';
