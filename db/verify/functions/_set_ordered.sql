-- Verify agentledger:functions/_set_ordered on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._set_ordered()'::regprocedure;
