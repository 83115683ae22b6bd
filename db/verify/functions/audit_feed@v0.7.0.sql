-- Verify agentledger:functions/audit_feed on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.audit_feed(bigint, bigint, integer)'::regprocedure;
