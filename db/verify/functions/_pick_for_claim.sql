-- Verify agentledger:functions/_pick_for_claim on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._pick_for_claim(text, text[], integer, timestamptz)'::regprocedure;
