-- Verify agentledger:functions/_settle_lines on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._settle_lines(text[])'::regprocedure;
