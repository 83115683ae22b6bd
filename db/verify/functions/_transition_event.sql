-- Verify agentledger:functions/_transition_event on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._transition_event(bigint, text, ledger.acting, text, jsonb, jsonb, timestamptz, text, uuid)'::regprocedure;
