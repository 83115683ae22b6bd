-- Revert agentledger:functions/_is_key_name from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._is_key_name(text);

COMMIT;
