-- Verify agentledger:functions/audit_feed on pg
SELECT 'api.audit_feed(bigint, bigint, integer)'::regprocedure, 'api.audit_feed_position(text[])'::regprocedure;
