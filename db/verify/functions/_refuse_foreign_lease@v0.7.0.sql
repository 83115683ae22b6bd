-- Verify agentledger:functions/_refuse_foreign_lease on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_foreign_lease(ledger.events, uuid, text, timestamptz)'::regprocedure;
