-- Verify agentledger:functions/_report_digest on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._report_digest(jsonb)'::regprocedure;
