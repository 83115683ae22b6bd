-- Revert agentledger:functions/_refuse_unreadable_event from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._refuse_unreadable_event(ledger.acting, bigint);

COMMIT;
