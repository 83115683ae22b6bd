-- Verify agentledger:api_types_worker on pg
SELECT 'api.claim'::regtype, 'api.report'::regtype;
