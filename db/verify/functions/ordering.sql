-- Verify agentledger:functions/ordering on pg
SELECT 'api.list_blocked(integer)'::regprocedure;
