-- Verify agentledger:functions/rescue_expired_leases on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'api.rescue_expired_leases(integer, timestamptz, text)'::regprocedure;
