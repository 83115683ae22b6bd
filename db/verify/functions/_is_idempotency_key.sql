-- Verify agentledger:functions/_is_idempotency_key on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._is_idempotency_key(text)'::regprocedure;
