-- Revert agentledger:triggers/events from pg
BEGIN;
GRANT DELETE, TRUNCATE ON ledger.events TO agentledger_owner;
DROP TRIGGER _050_refuse_truncate ON ledger.events;
DROP TRIGGER _050_refuse_delete ON ledger.events;
DROP TRIGGER _500_audit_status_changes ON ledger.events;
DROP TRIGGER _500_audit_submits ON ledger.events;
DROP TRIGGER _100_check_status_change ON ledger.events;
DROP TRIGGER _050_refuse_write_once_change ON ledger.events;
DROP FUNCTION ledger._audit_status_changes();
DROP FUNCTION ledger._audit_submits();
DROP FUNCTION ledger._check_status_change();
DROP FUNCTION ledger._refuse_write_once_change();
DROP FUNCTION ledger._refuse_event_delete();
COMMIT;
