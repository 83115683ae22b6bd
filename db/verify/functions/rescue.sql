-- Verify agentledger:functions/rescue on pg
SELECT 'api.rescue_expired_leases(integer, text, timestamptz)'::regprocedure;
