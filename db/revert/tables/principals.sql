-- Revert agentledger:tables/principals from pg
BEGIN;
DROP TYPE api.principal;
ALTER TYPE api.audit_entry DROP ATTRIBUTE api_key;
DROP TYPE api.key;
DROP TYPE ledger.acting;
ALTER TABLE ledger.audit_log DROP COLUMN api_key;
DROP TRIGGER _100_check_status_change ON ledger.events;
CREATE TRIGGER _100_check_status_change
    BEFORE UPDATE OF status, version, changed_by, changed_by_kind, change_reason, change_details
    ON ledger.events FOR EACH ROW
    WHEN (current_user <> 'agentledger_owner' OR NEW.status = OLD.status OR NEW.updated_at = OLD.updated_at)
    EXECUTE FUNCTION ledger._check_status_change();
ALTER TABLE ledger.events ENABLE ALWAYS TRIGGER _100_check_status_change;
ALTER TABLE ledger.events DROP COLUMN submitted_by, DROP COLUMN changed_by_key;
COMMENT ON COLUMN ledger.events.lease_owner IS 'The worker holding the lease, while one does.';
ALTER TABLE ledger.api_keys DROP COLUMN principal_id, DROP COLUMN event_types, DROP COLUMN customers;
COMMENT ON COLUMN ledger.api_keys.name IS 'Unique name of the key holder; the actor of every change made with the key. Names are never reused, even after revocation.';
COMMENT ON COLUMN ledger.audit_log.actor IS 'Who made the change: an agent or worker name, a person, an API key name, or the database user.';
DROP TABLE ledger.principal_logins;
DROP TABLE ledger.principals;
DROP DOMAIN ledger.principal_kind;
COMMIT;
