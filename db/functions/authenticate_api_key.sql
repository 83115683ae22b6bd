CREATE OR REPLACE FUNCTION api.authenticate_api_key(p_key text) RETURNS SETOF api.key
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- No row for a malformed, unknown, wrong or revoked key, or one of an inactive principal: the
    -- caller answers 401 either way. (Each function given the key checks it again: ledger._acting.)
    SELECT (ledger._as_api_key(k)).* FROM ledger._valid_key(p_key) k;
END;
COMMENT ON FUNCTION api.authenticate_api_key(text) IS
    'The valid (not revoked, of an active principal) API key whose text is p_key, as one api.key row; no row otherwise.';
GRANT EXECUTE ON FUNCTION api.authenticate_api_key(text) TO agentledger_api;
