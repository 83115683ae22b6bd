-- Deploy agentledger:tables/access_log to pg
-- Auditors read everything, so each of their reads of payloads or of the audit trail is itself
-- recorded (PCI DSS 10.2.1.3: all access to audit logs is captured). Append-only, like the trail.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.access_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    principal text,
    api_key text,
    db_user text NOT NULL DEFAULT session_user,
    action text NOT NULL,
    event_id bigint,
    details jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_log_by_principal ON ledger.access_log (principal, recorded_at);
COMMENT ON TABLE ledger.access_log IS
    'One row per read of events or of the audit trail by an auditor (an auditor key, or a login in agentledger_auditor): who, with which key or login, what (the api function, the event or the filters) and when. Append-only.';
COMMENT ON COLUMN ledger.access_log.id IS 'Surrogate key, in insert order.';
COMMENT ON COLUMN ledger.access_log.db_user IS 'The database login that read (session_user).';
COMMENT ON COLUMN ledger.access_log.recorded_at IS 'When the read happened (the transaction time).';
COMMENT ON COLUMN ledger.access_log.principal IS 'The principal reading; NULL for an auditor login mapped to none.';
COMMENT ON COLUMN ledger.access_log.api_key IS 'The API key used; NULL when the login read directly (db_user).';
COMMENT ON COLUMN ledger.access_log.action IS 'The api function that read: get_event, list_events, event_history, event_history_page or list_reviews.';
COMMENT ON COLUMN ledger.access_log.event_id IS 'The event read, for reads of one event.';
COMMENT ON COLUMN ledger.access_log.details IS 'The filters of a list.';

CREATE TRIGGER _100_refuse_change BEFORE UPDATE OR DELETE ON ledger.access_log
    FOR EACH ROW EXECUTE FUNCTION ledger._refuse_audit_change();
CREATE TRIGGER _100_refuse_truncate BEFORE TRUNCATE ON ledger.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._refuse_audit_change();
ALTER TABLE ledger.access_log ENABLE ALWAYS TRIGGER _100_refuse_change;
ALTER TABLE ledger.access_log ENABLE ALWAYS TRIGGER _100_refuse_truncate;
GRANT SELECT ON ledger.access_log TO agentledger_auditor;

COMMIT;
