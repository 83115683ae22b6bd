-- Verify agentledger:functions/_submission_problem on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._submission_problem(text, boolean, jsonb, integer, text, timestamptz)'::regprocedure;
