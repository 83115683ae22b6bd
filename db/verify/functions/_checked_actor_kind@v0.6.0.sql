-- Verify agentledger:functions/_checked_actor_kind on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'ledger._checked_actor_kind(text)'::regprocedure;
