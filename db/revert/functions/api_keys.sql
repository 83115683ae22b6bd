-- Revert agentledger:functions/api_keys from pg
BEGIN;
DROP FUNCTION api.authenticate_api_key(text);
DROP FUNCTION api.list_api_keys();
DROP FUNCTION api.revoke_api_key(text, text);
DROP FUNCTION api.create_api_key(text, text);
DROP TYPE api.api_key;
COMMIT;
