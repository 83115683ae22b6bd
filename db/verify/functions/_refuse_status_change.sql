-- Verify agentledger:functions/_refuse_status_change on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._refuse_status_change(text, bigint, ledger.event_status, ledger.event_status, integer, integer, text)'::regprocedure;
