-- Verify agentledger:functions/rescue_expired_leases on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.rescue_expired_leases(integer, text, timestamptz)'::regprocedure;
