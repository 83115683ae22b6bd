-- Verify agentledger:functions/_set_ordered on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._set_ordered()'::regprocedure;
