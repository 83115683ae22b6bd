-- Revert agentledger:triggers/review from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;
DROP TRIGGER _080_route_to_review ON ledger.events;
DROP FUNCTION ledger._route_to_review();
COMMIT;
