-- Revert agentledger:functions/_acting from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._acting(text, text[]);

COMMIT;
