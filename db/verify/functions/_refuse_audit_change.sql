-- Verify agentledger:functions/_refuse_audit_change on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_audit_change()'::regprocedure;
