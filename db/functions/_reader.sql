CREATE OR REPLACE FUNCTION ledger._reader(p_key text, p_action text, p_event_id bigint, p_details jsonb)
RETURNS ledger.acting
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- Who reads, for the read functions: the principal of p_key (any role), or NULL for a login reading
-- directly, whose grants already decide what it may read. A read by an auditor (an auditor key, or
-- a login in agentledger_auditor) is recorded in ledger.access_log.
DECLARE
    v_reader ledger.acting;
BEGIN
    IF p_key IS NOT NULL THEN
        v_reader := ledger._acting(p_key, '{submitter,worker,reviewer,auditor}');
    END IF;
    IF v_reader.key_role = 'auditor'
       OR p_key IS NULL AND pg_has_role(session_user, 'agentledger_auditor', 'MEMBER')
                        AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        INSERT INTO ledger.access_log (principal, api_key, action, event_id, details)
        VALUES (coalesce(v_reader.principal,
                         (SELECT p.name FROM ledger.principal_logins l JOIN ledger.principals p ON p.id = l.principal_id
                           WHERE l.login = session_user)),
                v_reader.api_key, p_action, p_event_id, p_details);
    END IF;
    RETURN v_reader;
END
$$;
COMMENT ON FUNCTION ledger._reader(text, text, bigint, jsonb) IS
    'The principal of the API key p_key reading (28000 for an invalid key), NULL for a login; records the read in ledger.access_log when an auditor reads.';
