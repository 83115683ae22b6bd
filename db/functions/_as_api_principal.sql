CREATE OR REPLACE FUNCTION ledger._as_api_principal(p ledger.principals) RETURNS api.principal
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN ROW(p.name, p.kind, p.active,
           ARRAY(SELECT l.login FROM ledger.principal_logins l WHERE l.principal_id = p.id ORDER BY l.login),
           ARRAY(SELECT k.name FROM ledger.api_keys k
                  WHERE k.principal_id = p.id AND k.revoked_at IS NULL ORDER BY k.name),
           p.created_at, p.deactivated_at, p.deactivate_reason)::api.principal;
COMMENT ON FUNCTION ledger._as_api_principal(ledger.principals) IS
    'A principal as api.principal: with its logins and its valid keys.';
