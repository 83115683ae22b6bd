-- Verify agentledger:functions/_require_status on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._require_status(bigint, ledger.event_status, text)'::regprocedure;
