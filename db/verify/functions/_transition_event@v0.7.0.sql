-- Verify agentledger:functions/_transition_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, text, uuid)'::regprocedure;
