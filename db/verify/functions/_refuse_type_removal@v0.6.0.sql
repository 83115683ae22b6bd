-- Verify agentledger:functions/_refuse_type_removal on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._refuse_type_removal()'::regprocedure;
