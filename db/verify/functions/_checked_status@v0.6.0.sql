-- Verify agentledger:functions/_checked_status on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._checked_status(text)'::regprocedure;
