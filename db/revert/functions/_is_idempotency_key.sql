-- Revert agentledger:functions/_is_idempotency_key from pg
-- Written by agentledger/function_changes.py: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._is_idempotency_key(text);

COMMIT;
