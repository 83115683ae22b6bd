-- Revert agentledger:functions/_status_change_problem from pg
-- Written by `agentledger db functions`: the change created the function.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION ledger._status_change_problem(boolean, boolean, integer, integer, text);

COMMIT;
