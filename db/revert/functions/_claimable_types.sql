-- Revert agentledger:functions/_claimable_types from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._claimable_types(ledger.acting, text[]);

COMMIT;
