-- Revert agentledger:functions/deactivate_principal from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.deactivate_principal(text, text);

COMMIT;
