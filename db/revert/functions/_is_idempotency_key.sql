-- Revert agentledger:functions/_is_idempotency_key from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._is_idempotency_key(text);

COMMIT;
