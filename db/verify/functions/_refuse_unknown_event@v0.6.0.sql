-- Verify agentledger:functions/_refuse_unknown_event on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._refuse_unknown_event(bigint)'::regprocedure;
