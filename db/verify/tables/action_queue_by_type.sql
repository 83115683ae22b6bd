-- Verify agentledger:tables/action_queue_by_type on pg
SELECT 'ledger.events_action_by_type_idx'::regclass;
