-- Verify agentledger:functions/_refuse_audit_change on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._refuse_audit_change()'::regprocedure;
