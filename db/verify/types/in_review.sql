-- Verify agentledger:types/in_review on pg
SELECT 'in_review'::ledger.event_status;
