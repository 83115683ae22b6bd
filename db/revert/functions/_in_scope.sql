-- Revert agentledger:functions/_in_scope from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._in_scope(ledger.acting, text, text);

COMMIT;
