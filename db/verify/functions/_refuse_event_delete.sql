-- Verify agentledger:functions/_refuse_event_delete on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_event_delete()'::regprocedure;
