-- Verify agentledger:functions/_refuse_foreign_lease on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._refuse_foreign_lease(ledger.events, uuid, text, timestamptz)'::regprocedure;
