-- Revert agentledger:tables/transitions from pg
BEGIN;
DROP TABLE ledger.transitions;
COMMIT;
