-- Verify agentledger:functions/_submission_problem on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._submission_problem(text, boolean, jsonb, integer, text, timestamptz)'::regprocedure;
