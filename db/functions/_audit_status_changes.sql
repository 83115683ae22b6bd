CREATE OR REPLACE FUNCTION ledger._audit_status_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: one audit row per event whose status changed, chained to the
-- previous row of that event. The event row is locked by the UPDATE, so its chain head is stable.
BEGIN
    -- A statement that changed no status (a heartbeat, a claim that found nothing) must not touch
    -- the audit table at all: its write lock would make seals and live readers wait for this
    -- transaction to end.
    IF NOT EXISTS (SELECT 1 FROM new_events n JOIN old_events o ON o.id = n.id WHERE n.status <> o.status) THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at,
                                  prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT c.seq, c.customer_id, c.id, c.version, c.from_status, c.status, c.changed_by,
           c.changed_by_kind, session_user, c.change_reason, c.change_details, c.attempts,
           c.recorded_at, c.prev_hash,
           ledger._audit_hash(c.prev_hash, c.seq, c.customer_id, c.id, c.version, c.from_status,
                              c.status, c.changed_by, c.changed_by_kind, session_user,
                              c.change_reason, c.change_details, c.attempts, c.recorded_at)
      FROM (SELECT n.*, o.status AS from_status, nextval('ledger.audit_log_seq_seq') AS seq,
                   now() AS recorded_at,
                   (SELECT a.hash FROM ledger.audit_log a
                     WHERE a.event_id = n.id ORDER BY a.seq DESC LIMIT 1) AS prev_hash
              FROM new_events n JOIN old_events o ON o.id = n.id
             WHERE n.status <> o.status) c;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_status_changes() IS
    'Trigger: writes one hash-chained audit row per event whose status an UPDATE changed, whoever wrote it.';
