-- Revert agentledger:types/domains from pg
BEGIN;
DROP DOMAIN ledger.customer_id, ledger.type_name, ledger.idempotency_key, ledger.key_name, ledger.reason,
    ledger.actor_name;
COMMIT;
