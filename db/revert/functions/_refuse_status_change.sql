-- Revert agentledger:functions/_refuse_status_change from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._refuse_status_change(text, bigint, ledger.event_status, ledger.event_status, integer, integer, text);

COMMIT;
