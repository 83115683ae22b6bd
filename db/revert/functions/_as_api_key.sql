-- Revert agentledger:functions/_as_api_key from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._as_api_key(ledger.api_keys);

COMMIT;
