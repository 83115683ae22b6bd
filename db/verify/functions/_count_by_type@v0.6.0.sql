-- Verify agentledger:functions/_count_by_type on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._count_by_type(text[])'::regprocedure;
