-- Deploy agentledger:database/privileges to pg
-- Only agentledger's roles (and their members) may connect to this database. PUBLIC may not:
-- PostgreSQL has no privilege on NOTIFY and LISTEN, so any login that connects could forge a
-- wake-up on agentledger_work or an escalation, or listen to them. PUBLIC may not create temporary
-- objects here either, nor create anything in schema public: a function planted there (e.g.
-- public.nextval(text)) could be picked up by a session whose search_path is not pinned.
BEGIN;

DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO agentledger_owner, agentledger_api, agentledger_worker, '
                   'agentledger_auditor', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

COMMIT;
