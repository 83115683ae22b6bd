-- Verify agentledger:functions/claim on pg
SELECT 'api.claim_events(text, integer, text[], timestamptz)'::regprocedure,
       'api.claim_actions(text, integer, text[], timestamptz)'::regprocedure;
