-- Verify agentledger:functions/_audit_status_changes on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._audit_status_changes()'::regprocedure;
