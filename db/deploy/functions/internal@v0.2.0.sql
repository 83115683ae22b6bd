-- Deploy agentledger:functions/internal to pg
-- Private helpers used by the triggers and the api functions. Not callable by client roles.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_audit_hash.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._audit_hash(
    p_prev_hash bytea, p_seq bigint, p_customer_id text, p_event_id bigint, p_version integer,
    p_from_status ledger.event_status, p_to_status ledger.event_status, p_actor text,
    p_actor_kind ledger.actor_kind, p_db_user text, p_reason text, p_details jsonb, p_attempt integer,
    p_recorded_at timestamptz)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
-- The content is a JSON array: its text form does not depend on DateStyle or TimeZone, so any
-- session recomputes the same hash.
RETURN sha256(coalesce(p_prev_hash, ''::bytea) || convert_to(jsonb_build_array(
    p_seq, p_customer_id, p_event_id, p_version, p_from_status, p_to_status, p_actor, p_actor_kind,
    p_db_user, p_reason, p_details, p_attempt, p_recorded_at AT TIME ZONE 'UTC')::text, 'UTF8'));
COMMENT ON FUNCTION ledger._audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status,
    ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamptz) IS
    'The hash of one audit row: sha256 of the previous row''s hash and this row''s content.';
-- end db/functions/_audit_hash.sql

-- begin db/functions/_as_api_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._as_api_event(e ledger.events) RETURNS api.event
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ROW(e.id, e.customer_id, e.event_type, e.status, e.payload, e.priority, e.attempts,
           e.max_attempts, e.run_after, e.lease_owner, e.lease_expires_at, e.idempotency_key, e.result,
           e.last_error, e.last_error_type, e.correlation_id, e.caused_by_event_id, e.version,
           e.changed_by, e.changed_by_kind, e.change_reason, e.created_at, e.updated_at)::api.event;
COMMENT ON FUNCTION ledger._as_api_event(ledger.events) IS
    'An events row as clients see it (api.event): without the lease token.';
-- end db/functions/_as_api_event.sql

-- begin db/functions/_wake_workers.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._wake_workers(p_queued jsonb) RETURNS void
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

-- begin db/functions/_transition_hint.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) RETURNS text
LANGUAGE sql STABLE
RETURN (
    SELECT CASE
        WHEN count(*) = 0 THEN format('event %s is %s; %s is terminal', p_event_id, p_status, p_status)
        ELSE format('event %s is %s; from %s it may go to %s', p_event_id, p_status, p_status,
                    string_agg(t.to_status::text, ', ' ORDER BY t.to_status))
    END
    FROM ledger.transitions t
    WHERE t.from_status = p_status);
COMMENT ON FUNCTION ledger._transition_hint(bigint, ledger.event_status) IS
    'The HINT of a refused transition: where the event may go from its status, read from ledger.transitions.';
-- end db/functions/_transition_hint.sql
-- begin db/functions/_refuse_unknown_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_unknown_event(p_event_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'AL001',
        MESSAGE = format('event %s does not exist', coalesce(p_event_id::text, 'NULL')),
        DETAIL = 'No event has this id.',
        HINT = 'Check the id; api.list_events shows existing events.';
END
$$;
COMMENT ON FUNCTION ledger._refuse_unknown_event(bigint) IS 'Raises AL001: no event has this id.';
-- end db/functions/_refuse_unknown_event.sql

-- begin db/functions/_checked_inputs.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._checked_actor(p_actor text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
-- Who acts: the name given (an agent, a person, an API key name), else the database user.
DECLARE
    v_actor text := coalesce(nullif(btrim(p_actor), ''), session_user);
BEGIN
    IF char_length(v_actor) > 200 OR v_actor ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'actor must be at most 200 characters without control characters',
            DETAIL = format('The actor given is %s characters long.', char_length(v_actor)),
            HINT = 'Name the agent, person or API key that acts, e.g. "fraud-triage-1".';
    END IF;
    RETURN v_actor;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor(text) IS
    'The actor of a change: the given name trimmed, or session_user when none; refuses unreadable names (AL010).';

CREATE FUNCTION ledger._checked_actor_kind(p_actor_kind text) RETURNS ledger.actor_kind
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_actor_kind IS NULL OR p_actor_kind NOT IN ('agent', 'human', 'system') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('unknown actor kind %s', coalesce(quote_literal(p_actor_kind), 'NULL')),
            DETAIL = 'Every change records whether an agent, a human or the system made it.',
            HINT = 'Use one of: agent, human, system.';
    END IF;
    RETURN p_actor_kind::ledger.actor_kind;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor_kind(text) IS 'Turns text into an actor kind, refusing unknown ones (AL010).';

CREATE FUNCTION ledger._checked_status(p_status text) RETURNS ledger.event_status
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_status IS NULL
       OR p_status NOT IN ('queued', 'processing', 'approved', 'rejected', 'completed', 'failed') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('unknown status %s', coalesce(quote_literal(p_status), 'NULL')),
            DETAIL = 'An event status is one of the labels of type ledger.event_status.',
            HINT = 'Use one of: queued, processing, approved, rejected, completed, failed.';
    END IF;
    RETURN p_status::ledger.event_status;
END
$$;
COMMENT ON FUNCTION ledger._checked_status(text) IS 'Turns text into an event status, refusing unknown ones (AL010).';

CREATE FUNCTION ledger._checked_now(p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
-- "Now" for a function call. Only the owner (and superusers, who are members of every role) may
-- move the clock, which tests do; clients could otherwise back-date what they write.
BEGIN
    IF p_now IS NULL OR p_now NOT BETWEEN now() - interval '200 years' AND now() + interval '200 years' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('p_now must be a time within 200 years of now, not %s', coalesce(p_now::text, 'NULL')),
            DETAIL = 'p_now is the current time as the function sees it; leases and back-offs are added to it.',
            HINT = 'Leave it out: it defaults to now().';
    ELSIF p_now <> now() AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'only the owner may pass a p_now other than now()',
            DETAIL = format('p_now was %s; the transaction started at %s.', p_now, now()),
            HINT = 'Leave p_now out.';
    END IF;
    RETURN p_now;
END
$$;
COMMENT ON FUNCTION ledger._checked_now(timestamptz) IS
    'The time a call acts at: p_now, which must lie within 200 years of now() and, except for the owner, equal it (AL010).';
-- end db/functions/_checked_inputs.sql

COMMIT;
