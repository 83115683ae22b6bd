-- Revert agentledger:functions/readable_events from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.readable_events(bigint[], text);

COMMIT;
