-- Revert agentledger:functions/_valid_key from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._valid_key(text);

COMMIT;
