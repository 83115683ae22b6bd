-- Revert agentledger:functions/create_principal from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.create_principal(text, text, text);

COMMIT;
