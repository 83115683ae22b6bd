-- Revert agentledger:functions/_may_read from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._may_read(ledger.acting, ledger.events);

COMMIT;
