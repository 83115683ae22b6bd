-- Revert agentledger:functions/_as_api_principal from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._as_api_principal(ledger.principals);

COMMIT;
