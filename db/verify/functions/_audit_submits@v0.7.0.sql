-- Verify agentledger:functions/_audit_submits on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._audit_submits()'::regprocedure;
