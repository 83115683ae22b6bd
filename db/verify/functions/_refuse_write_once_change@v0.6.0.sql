-- Verify agentledger:functions/_refuse_write_once_change on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._refuse_write_once_change()'::regprocedure;
