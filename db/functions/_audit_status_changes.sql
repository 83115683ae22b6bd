CREATE OR REPLACE FUNCTION ledger._audit_status_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- AFTER UPDATE ... FOR EACH STATEMENT: checks the status changes the row trigger left to it, then
-- writes one audit row per event whose version moved (a status change, or a note that keeps the
-- status), chained to the previous row of that event. The event row is locked by the UPDATE, so its
-- chain head is stable. (Notes are checked by the row trigger, which sees every same-status write.)
DECLARE
    v_bad record;
BEGIN
    -- A statement that changed no status and no version (a heartbeat, a claim that found nothing)
    -- must not touch the audit table at all: its write lock would make seals and live readers wait
    -- for this transaction to end.
    IF NOT EXISTS (SELECT 1 FROM new_events n JOIN old_events o ON o.id = n.id
                    WHERE n.status <> o.status OR n.version <> o.version) THEN
        RETURN NULL;
    END IF;
    -- The rules of ledger._check_status_change for writes made as the owner (the api functions)
    -- that change the status and set updated_at: the row trigger skips those rows (its WHEN
    -- clause), and they are checked here, once per statement instead of once per row. Rows the
    -- row trigger saw pass again. Any refusal undoes the whole statement.
    SELECT c.* INTO v_bad
      FROM (SELECT n.id, o.status AS from_status, n.status AS to_status, o.version AS old_version,
                   n.version AS new_version, t.name,
                   ledger._status_change_problem(t.from_status IS NOT NULL, t.reason_required, o.version,
                                                 n.version, n.change_reason) AS problem
              FROM new_events n
              JOIN old_events o ON o.id = n.id
              LEFT JOIN ledger.transitions t ON t.from_status = o.status AND t.to_status = n.status
             WHERE n.status <> o.status) c
     WHERE c.problem IS NOT NULL
     ORDER BY c.id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._refuse_status_change(v_bad.problem, v_bad.id, v_bad.from_status, v_bad.to_status,
                                             v_bad.old_version, v_bad.new_version, v_bad.name);
    END IF;
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at, api_key,
                                  prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT c.seq, c.customer_id, c.id, c.version, c.from_status, c.status, c.changed_by,
           c.changed_by_kind, session_user, c.change_reason, c.change_details, c.attempts,
           c.recorded_at, c.changed_by_key, c.prev_hash,
           ledger._audit_hash(c.prev_hash, c.seq, c.customer_id, c.id, c.version, c.from_status,
                              c.status, c.changed_by, c.changed_by_kind, session_user,
                              c.change_reason, c.change_details, c.attempts, c.recorded_at,
                              c.changed_by_key)
      FROM (SELECT n.*, o.status AS from_status, nextval('ledger.audit_log_seq_seq') AS seq,
                   now() AS recorded_at,
                   (SELECT a.hash FROM ledger.audit_log a
                     WHERE a.event_id = n.id ORDER BY a.seq DESC LIMIT 1) AS prev_hash
              FROM new_events n JOIN old_events o ON o.id = n.id
             WHERE n.version <> o.version) c;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_status_changes() IS
    'Trigger: refuses the status changes of owner writes by the rules of ledger._status_change_problem (AL003, AL012, AL008), then writes one hash-chained audit row per event whose status an UPDATE changed (or that it noted: same status, version + 1), whoever wrote it.';
