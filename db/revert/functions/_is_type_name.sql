-- Revert agentledger:functions/_is_type_name from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._is_type_name(text);

COMMIT;
