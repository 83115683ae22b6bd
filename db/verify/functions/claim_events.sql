-- Verify agentledger:functions/claim_events on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.claim_events(text, integer, text[], timestamptz, text)'::regprocedure;
