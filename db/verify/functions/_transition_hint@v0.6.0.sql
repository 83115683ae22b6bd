-- Verify agentledger:functions/_transition_hint on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._transition_hint(bigint, ledger.event_status)'::regprocedure;
