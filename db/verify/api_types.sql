-- Verify agentledger:api_types on pg
SELECT 'api.event'::regtype, 'api.receipt'::regtype, 'api.audit_entry'::regtype, 'api.seal'::regtype,
       'api.audit_verdict'::regtype;
