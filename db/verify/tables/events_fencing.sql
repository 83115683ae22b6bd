-- Verify agentledger:tables/events_fencing on pg
SELECT lease_fenced, last_lease_token, last_report, last_report_digest FROM ledger.events WHERE false;
SELECT 'ledger.events_action_order_idx'::regclass, 'ledger.events_claim_by_type_idx'::regclass;
