-- Verify agentledger:functions/audit_feed_position on pg
-- Written by agentledger/function_changes.py: raises when the function is missing.
SELECT 'api.audit_feed_position(text[])'::regprocedure;
