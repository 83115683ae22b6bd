CREATE OR REPLACE FUNCTION api.latest_seal() RETURNS api.seal
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ledger._as_api_seal(s) FROM ledger.audit_seals s ORDER BY s.id DESC LIMIT 1;
END;
COMMENT ON FUNCTION api.latest_seal() IS
    'The latest audit seal (NULL when there is none): export its digest to storage the database cannot change.';
GRANT EXECUTE ON FUNCTION api.latest_seal() TO agentledger_api, agentledger_worker, agentledger_auditor;
