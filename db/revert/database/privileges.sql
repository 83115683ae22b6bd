-- Revert agentledger:database/privileges from pg
-- PostgreSQL's defaults for a database: PUBLIC may connect and create temporary objects. CREATE on
-- schema public stays revoked: that is PostgreSQL 15's default, and granting it again is not
-- something a revert should do to whatever database this was.
BEGIN;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM agentledger_owner, agentledger_api, agentledger_worker, '
                   'agentledger_auditor', current_database());
END
$$;

COMMIT;
