-- Revert agentledger:functions/list_principals from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_principals();

COMMIT;
