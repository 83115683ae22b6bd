-- Verify agentledger:functions/api_keys on pg
SELECT 'api.create_api_key(text, text)'::regprocedure, 'api.revoke_api_key(text, text)'::regprocedure,
       'api.list_api_keys()'::regprocedure, 'api.authenticate_api_key(text)'::regprocedure;
