CREATE OR REPLACE FUNCTION ledger._audit_submits() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- AFTER INSERT ... FOR EACH STATEMENT: one set-based pass per statement, so a batch of 1,000
-- costs one audit INSERT, not 1,000 trigger calls.
DECLARE
    v_bad record;
    v_trusted boolean := current_user = 'agentledger_owner';
BEGIN
    SELECT n.id, n.customer_id, n.status, n.event_type, t.name IS NULL AS unknown_type,
           octet_length(n.payload::text) AS bytes, s.max_payload_bytes
      INTO v_bad
      FROM new_events n
     CROSS JOIN ledger.settings s
      LEFT JOIN ledger.event_types t ON t.name = n.event_type
     WHERE n.status <> 'queued' OR t.name IS NULL OR octet_length(n.payload::text) > s.max_payload_bytes
     LIMIT 1;
    IF FOUND AND v_bad.status <> 'queued' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = format('event %s cannot start as %s', v_bad.id, v_bad.status),
            DETAIL = 'Every event enters the lifecycle as queued.',
            HINT = 'Insert it as queued; later changes follow ledger.transitions.';
    ELSIF FOUND AND v_bad.unknown_type THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', quote_literal(v_bad.event_type)),
            DETAIL = 'Events must be of a type registered in ledger.event_types.',
            HINT = 'A DBA adds one with INSERT INTO ledger.event_types (name, description).';
    ELSIF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('payload of %s bytes for customer %s is larger than the limit of %s bytes',
                             v_bad.bytes, v_bad.customer_id, v_bad.max_payload_bytes),
            DETAIL = 'The size is measured as JSON text.',
            HINT = 'Store large documents elsewhere and put a reference in the payload, or raise ledger.settings.max_payload_bytes.';
    END IF;

    -- Through the api functions (running as the owner) the row names its actor; a raw INSERT by
    -- anyone else is attributed to the database user, whatever the row claims.
    INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status, actor,
                                  actor_kind, db_user, reason, details, attempt, recorded_at,
                                  api_key, prev_hash, hash)
    OVERRIDING SYSTEM VALUE
    SELECT r.seq, r.customer_id, r.id, r.version, NULL, r.status, r.actor, r.kind, session_user,
           r.change_reason, r.change_details, r.attempts, r.recorded_at, r.api_key, NULL,
           ledger._audit_hash(NULL, r.seq, r.customer_id, r.id, r.version, NULL, r.status,
                              r.actor, r.kind, session_user, r.change_reason, r.change_details,
                              r.attempts, r.recorded_at, r.api_key)
      FROM (SELECT n.*, nextval('ledger.audit_log_seq_seq') AS seq, now() AS recorded_at,
                   CASE WHEN v_trusted THEN n.changed_by ELSE session_user END AS actor,
                   CASE WHEN v_trusted THEN n.changed_by_kind ELSE 'human' END AS kind,
                   CASE WHEN v_trusted THEN n.changed_by_key END AS api_key
              FROM new_events n) r;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ledger._audit_submits() IS
    'Trigger: writes the first audit row (the submit) of each new event, and refuses events of unregistered types (AL002), oversized payloads (AL005) and events not starting as queued (AL003).';
