-- Verify agentledger:functions/_route_to_review on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._route_to_review()'::regprocedure;
