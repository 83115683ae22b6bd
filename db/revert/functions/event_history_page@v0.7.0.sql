-- Revert agentledger:functions/event_history_page from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.event_history_page(bigint, bigint, integer);

COMMIT;
