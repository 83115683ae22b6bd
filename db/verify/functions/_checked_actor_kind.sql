-- Verify agentledger:functions/_checked_actor_kind on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._checked_actor_kind(text)'::regprocedure;
