-- Verify agentledger:functions/_settle_lines_after_write on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._settle_lines_after_write()'::regprocedure;
