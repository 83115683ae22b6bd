-- Verify agentledger:types/domains on pg
SELECT 'ledger.customer_id'::regtype, 'ledger.type_name'::regtype, 'ledger.idempotency_key'::regtype,
       'ledger.key_name'::regtype, 'ledger.reason'::regtype, 'ledger.actor_name'::regtype;
