-- Revert agentledger:functions/_refuse_out_of_scope from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._refuse_out_of_scope(ledger.acting, text, text);

COMMIT;
