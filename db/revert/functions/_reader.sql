-- Revert agentledger:functions/_reader from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._reader(text, text, bigint, jsonb);

COMMIT;
