-- Verify agentledger:functions/claim_actions on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.claim_actions(text, integer, text[], timestamptz)'::regprocedure;
