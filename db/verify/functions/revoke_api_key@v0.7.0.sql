-- Verify agentledger:functions/revoke_api_key on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.revoke_api_key(text, text)'::regprocedure;
