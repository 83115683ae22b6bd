-- Deploy agentledger:functions/_wake_workers to pg
-- Written by agentledger/function_changes.py from db/functions/_wake_workers.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_wake_workers.sql
CREATE OR REPLACE FUNCTION ledger._wake_workers(p_queued jsonb) RETURNS void
LANGUAGE plpgsql AS $$
-- p_queued: {"<event_type>": <count>, ...} of events that just became runnable.
-- PostgreSQL serialises the commits of notifying transactions, so each event type sends at most one
-- NOTIFY per ledger.settings.notify_throttle. Workers poll as well: a skipped NOTIFY delays, never loses.
DECLARE
    v_now timestamptz := clock_timestamp();
    v_throttle interval;
    v_any_due boolean;
    v_due jsonb;
    v_message text;
BEGIN
    IF p_queued IS NULL OR p_queued = '{}'::jsonb THEN
        RETURN;
    END IF;
    -- One read answers the common case under load: every type announced moments ago, nothing to do.
    SELECT s.notify_throttle, bool_or(w.last_notified_at <= v_now - s.notify_throttle)
      INTO v_throttle, v_any_due
      FROM ledger.settings s
      LEFT JOIN ledger.wakeups w ON w.event_type IN (SELECT jsonb_object_keys(p_queued))
     GROUP BY s.notify_throttle;
    IF v_throttle = '0'::interval THEN
        v_due := p_queued;  -- no throttle: no throttle row to lock either
    ELSIF NOT coalesce(v_any_due, false) THEN
        RETURN;
    ELSE
        -- SKIP LOCKED: a row locked by another submitter means that one is about to notify, so
        -- this submit never waits for another transaction to finish.
        WITH due AS (
            UPDATE ledger.wakeups w
               SET last_notified_at = v_now
             WHERE w.event_type IN (
                       SELECT d.event_type FROM ledger.wakeups d
                        WHERE d.event_type IN (SELECT jsonb_object_keys(p_queued))
                          AND d.last_notified_at <= v_now - v_throttle
                        ORDER BY d.event_type
                          FOR UPDATE SKIP LOCKED)
            RETURNING w.event_type
        )
        SELECT jsonb_object_agg(d.event_type, p_queued -> d.event_type) INTO v_due FROM due d;
    END IF;
    IF v_due IS NOT NULL THEN
        v_message := jsonb_build_object('queued', v_due)::text;
        IF octet_length(v_message) > 7000 THEN
            v_message := '{"queued": null}';  -- too many types to list: "some work, of any type"
        END IF;
        PERFORM pg_notify('agentledger_work', v_message);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._wake_workers(jsonb) IS
    'Announces runnable work on channel agentledger_work with payload {"queued": {"<type>": <count>}}, at most once per type per notify_throttle. One call per statement.';
-- end db/functions/_wake_workers.sql

COMMIT;
