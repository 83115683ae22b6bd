-- Verify agentledger:functions/_as_api_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._as_api_event(ledger.events)'::regprocedure;
