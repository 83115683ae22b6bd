-- Deploy agentledger:functions/submit to pg
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TYPE ledger.submission AS (
    ord bigint,
    id bigint,
    customer_id text,
    event_type text,
    payload jsonb,
    priority integer,
    run_after timestamptz,
    idempotency_key text,
    correlation_id uuid,
    caused_by_event_id bigint
);
COMMENT ON TYPE ledger.submission IS 'One item of a submit request while api.submit_events checks and inserts it.';

-- begin db/functions/_submission_problem.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._submission_problem(
    p_customer_id text, p_type_known boolean, p_payload jsonb, p_priority integer,
    p_idempotency_key text, p_run_after timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- The field at fault in a submitted event, or NULL when it is valid. Inlined by the planner, so the
-- batch path pays one CASE per item.
RETURN CASE
    WHEN p_customer_id IS NULL OR p_customer_id = '' OR char_length(p_customer_id) > 64
         OR p_customer_id ~ '[[:cntrl:]]' THEN 'customer_id'
    WHEN NOT p_type_known THEN 'event_type'
    WHEN p_payload IS NULL OR jsonb_typeof(p_payload) <> 'object' THEN 'payload'
    WHEN p_priority IS NOT NULL AND p_priority NOT BETWEEN -32768 AND 32767 THEN 'priority'
    WHEN p_idempotency_key = '' OR char_length(p_idempotency_key) > 255
         OR p_idempotency_key ~ '[[:cntrl:]]' THEN 'idempotency_key'
    WHEN NOT isfinite(p_run_after) THEN 'run_after'
END;
COMMENT ON FUNCTION ledger._submission_problem(text, boolean, jsonb, integer, text, timestamptz) IS
    'Which field of a submitted event is invalid (customer_id, event_type, payload, priority, idempotency_key, run_after), or NULL.';
-- end db/functions/_submission_problem.sql

-- begin db/functions/_refuse_submission.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._refuse_submission(
    p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text,
    p_payload jsonb, p_priority integer, p_caused_by_event_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE AS $$
-- Raises the error for the first invalid item of a submit; p_problem names the field at fault.
DECLARE
    v_where text := format('Event %s of %s in the request; nothing was submitted.', p_ord, p_count);
BEGIN
    CASE p_problem
    WHEN 'customer_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL006',
            MESSAGE = format('customer_id %s is not valid', coalesce(quote_literal(left(p_customer_id, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = 'customer_id must be 1 to 64 characters without control characters.';
    WHEN 'event_type' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', coalesce(quote_literal(left(p_event_type, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = (SELECT 'Registered types: ' || string_agg(name, ', ' ORDER BY name)
                           || '. A DBA adds one with INSERT INTO ledger.event_types.'
                      FROM ledger.event_types);
    WHEN 'payload' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL007',
            MESSAGE = format('payload must be a JSON object, not %s', coalesce(jsonb_typeof(p_payload), 'missing')),
            DETAIL = v_where,
            HINT = 'Wrap the value in an object, e.g. {"text": ...}.';
    WHEN 'priority' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('priority %s is out of range', p_priority),
            DETAIL = v_where,
            HINT = 'priority is an integer from -32768 to 32767; higher runs first.';
    WHEN 'idempotency_key' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'idempotency_key must be 1 to 255 characters without control characters',
            DETAIL = v_where,
            HINT = 'Use a UUID or another unique string chosen by the client.';
    WHEN 'run_after' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'run_after must be a finite time',
            DETAIL = v_where,
            HINT = 'Leave run_after out to run at once, or give a date and time.';
    WHEN 'caused_by_event_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL001',
            MESSAGE = format('caused_by_event_id %s names no event', p_caused_by_event_id),
            DETAIL = v_where,
            HINT = 'Point caused_by_event_id at the event whose handling submitted this one, or leave it out.';
    END CASE;
END
$$;
COMMENT ON FUNCTION ledger._refuse_submission(text, bigint, integer, text, text, jsonb, integer, bigint) IS
    'Raises the SQLSTATE and message for an invalid submit item (AL001, AL002, AL006, AL007, AL010).';
-- end db/functions/_refuse_submission.sql

-- begin db/functions/submit_events.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.submit_events(
    p_events jsonb,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'agent',
    p_now timestamptz DEFAULT now())
RETURNS SETOF api.receipt
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_actor text := ledger._checked_actor(p_actor);
    v_kind ledger.actor_kind := ledger._checked_actor_kind(p_actor_kind);
    v_count integer;
    v_max_batch integer;
    v_items ledger.submission[];
    v_bad record;
    v_receipts api.receipt[];
    v_queued jsonb;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'events must be a JSON array of event objects',
            DETAIL = format('Got %s.', coalesce(jsonb_typeof(p_events), 'NULL')),
            HINT = 'Send [{"customer_id": ..., "event_type": ..., "payload": {...}}, ...].';
    END IF;
    v_count := jsonb_array_length(p_events);
    SELECT max_batch_size INTO v_max_batch FROM ledger.settings;
    IF v_count > v_max_batch THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL013',
            MESSAGE = format('a batch of %s events is larger than the limit of %s', v_count, v_max_batch),
            DETAIL = 'One batch is one transaction; very large ones hold locks for long.',
            HINT = 'Split it into batches of at most ledger.settings.max_batch_size events.';
    END IF;
    IF v_count = 0 THEN
        RETURN;
    END IF;

    -- Parse, giving each item its event id now so results can be matched to items by id.
    BEGIN
        -- customer_id and event_type are read as JSON so that only strings count: another JSON
        -- type becomes NULL and is refused below.
        SELECT array_agg(ROW(x.ord, nextval('ledger.events_id_seq'),
                             CASE WHEN jsonb_typeof(x.customer_id) = 'string' THEN x.customer_id #>> '{}' END,
                             CASE WHEN jsonb_typeof(x.event_type) = 'string' THEN x.event_type #>> '{}' END,
                             x.payload, x.priority, x.run_after, x.idempotency_key, x.correlation_id,
                             x.caused_by_event_id)::ledger.submission ORDER BY x.ord)
          INTO v_items
          FROM ROWS FROM (jsonb_to_recordset(p_events) AS (
                   customer_id jsonb, event_type jsonb, payload jsonb, priority integer,
                   run_after timestamptz, idempotency_key text, correlation_id uuid,
                   caused_by_event_id bigint))
               WITH ORDINALITY AS x(customer_id, event_type, payload, priority, run_after,
                                    idempotency_key, correlation_id, caused_by_event_id, ord);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('events could not be read: %s', SQLERRM),
            DETAIL = 'A field has the wrong type, or an item is not an object.',
            HINT = 'Each event is an object: customer_id (string), event_type (string), payload (object); optional priority (integer), run_after (timestamp), idempotency_key (string), correlation_id (uuid), caused_by_event_id (integer).';
    END;

    -- The first invalid item, in batch order.
    SELECT * INTO v_bad
      FROM (SELECT i.*,
                   coalesce(ledger._submission_problem(i.customer_id, t.name IS NOT NULL, i.payload,
                                                       i.priority, i.idempotency_key, i.run_after),
                            CASE WHEN i.caused_by_event_id IS NOT NULL AND NOT EXISTS (
                                          SELECT 1 FROM ledger.events c WHERE c.id = i.caused_by_event_id)
                                 THEN 'caused_by_event_id' END) AS problem
              FROM unnest(v_items) i
              LEFT JOIN ledger.event_types t ON t.name = i.event_type) b
     WHERE b.problem IS NOT NULL
     ORDER BY b.ord
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger._refuse_submission(v_bad.problem, v_bad.ord, v_count, v_bad.customer_id,
                                          v_bad.event_type, v_bad.payload, v_bad.priority,
                                          v_bad.caused_by_event_id);
    END IF;

    WITH inserted AS (
        INSERT INTO ledger.events (id, customer_id, event_type, payload, priority, run_after,
                                   max_attempts, idempotency_key, correlation_id, caused_by_event_id,
                                   changed_by, changed_by_kind, created_at, updated_at)
        OVERRIDING SYSTEM VALUE
        SELECT i.id, i.customer_id, i.event_type, i.payload, coalesce(i.priority, 0),
               coalesce(i.run_after, v_now), t.max_attempts, i.idempotency_key,
               coalesce(i.correlation_id,
                        CASE WHEN i.caused_by_event_id IS NOT NULL THEN
                            (SELECT c.correlation_id FROM ledger.events c WHERE c.id = i.caused_by_event_id)
                        END,
                        gen_random_uuid()),
               i.caused_by_event_id, v_actor, v_kind, v_now, v_now
          FROM unnest(v_items) i
          JOIN ledger.event_types t ON t.name = i.event_type
         -- Key order, not request order: two batches repeating the same keys then take their
         -- index locks in the same order and cannot deadlock. Receipts follow request order anyway.
         ORDER BY i.customer_id, i.idempotency_key, i.ord
        ON CONFLICT (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id, customer_id, event_type, status, priority, run_after, idempotency_key,
                  correlation_id, created_at
    )
    SELECT (SELECT array_agg(ROW(true, n.*)::api.receipt) FROM inserted n),
           (SELECT jsonb_object_agg(q.event_type, q.n)
              FROM (SELECT n.event_type, count(*) AS n FROM inserted n
                     WHERE n.run_after <= v_now GROUP BY n.event_type) q)
      INTO v_receipts, v_queued;

    PERFORM ledger._wake_workers(v_queued);
    IF coalesce(cardinality(v_receipts), 0) = v_count THEN
        RETURN QUERY SELECT r.* FROM unnest(v_receipts) r ORDER BY r.id;  -- ids follow request order
        RETURN;
    END IF;

    -- Some items repeated an idempotency key: each must repeat the earlier submit exactly, and
    -- answers with the earlier event. (LIMIT 1 keeps each lookup on the unique index.)
    SELECT i.ord, e.id, i.idempotency_key,
           EXISTS (SELECT 1 FROM unnest(v_items) j WHERE j.id = e.id) AS in_request INTO v_bad
      FROM unnest(v_items) i
     CROSS JOIN LATERAL (SELECT * FROM ledger.events e
                          WHERE e.customer_id = i.customer_id AND e.idempotency_key = i.idempotency_key
                            AND e.id <> i.id
                          LIMIT 1) e
     WHERE e.event_type <> i.event_type OR e.payload <> i.payload OR e.priority <> coalesce(i.priority, 0)
     ORDER BY i.ord
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL004',
            MESSAGE = CASE WHEN v_bad.in_request
                THEN format('idempotency key %s appears twice in this request with different bodies',
                            quote_literal(v_bad.idempotency_key))
                ELSE format('idempotency key %s was already used for event %s with a different body',
                            quote_literal(v_bad.idempotency_key), v_bad.id)
            END,
            DETAIL = format('Event %s of %s in the request; nothing was submitted.', v_bad.ord, v_count),
            HINT = 'Repeat a submit with exactly the same event_type, payload and priority, or use a new key.';
    END IF;

    RETURN QUERY
    SELECT s.created, s.id, s.customer_id, s.event_type, s.status, s.priority, s.run_after,
           s.idempotency_key, s.correlation_id, s.created_at
      FROM (SELECT i.ord, r.*
              FROM unnest(v_items) i JOIN unnest(v_receipts) r ON r.id = i.id
            UNION ALL
            SELECT i.ord, false, e.id, e.customer_id, e.event_type, e.status, e.priority, e.run_after,
                   e.idempotency_key, e.correlation_id, e.created_at
              FROM unnest(v_items) i
             CROSS JOIN LATERAL (SELECT * FROM ledger.events e
                                  WHERE e.customer_id = i.customer_id
                                    AND e.idempotency_key = i.idempotency_key AND e.id <> i.id
                                  LIMIT 1) e) s
     ORDER BY s.ord;
END
$$;
COMMENT ON FUNCTION api.submit_events(jsonb, text, text, timestamptz) IS
$$Submits a batch of events in one statement, with one audit row each and one wake-up NOTIFY.
p_events: [{"customer_id", "event_type", "payload", "priority"?, "run_after"?, "idempotency_key"?,
"correlation_id"?, "caused_by_event_id"?}, ...]. Returns one receipt per item, in order; created is
false when the item's idempotency key matched an earlier identical submit. All or nothing.$$;
GRANT EXECUTE ON FUNCTION api.submit_events(jsonb, text, text, timestamptz)
    TO agentledger_api, agentledger_worker;
-- end db/functions/submit_events.sql

-- begin db/functions/submit_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION api.submit_event(
    p_customer_id text,
    p_event_type text,
    p_payload jsonb,
    p_priority integer DEFAULT 0,
    p_run_after timestamptz DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL,
    p_correlation_id uuid DEFAULT NULL,
    p_caused_by_event_id bigint DEFAULT NULL,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'agent',
    p_now timestamptz DEFAULT now())
RETURNS api.receipt
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- The single-event path: the same checks as api.submit_events (ledger._submission_problem), with
-- plain values instead of a JSON batch, because single submits are the hot path.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_actor text := ledger._checked_actor(p_actor);
    v_kind ledger.actor_kind := ledger._checked_actor_kind(p_actor_kind);
    v_max_attempts integer;
    v_correlation_id uuid := p_correlation_id;
    v_problem text;
    v_event ledger.events;
BEGIN
    SELECT t.max_attempts INTO v_max_attempts FROM ledger.event_types t WHERE t.name = p_event_type;
    v_problem := ledger._submission_problem(p_customer_id, v_max_attempts IS NOT NULL, p_payload,
                                            p_priority, p_idempotency_key, p_run_after);
    IF v_problem IS NULL AND p_caused_by_event_id IS NOT NULL THEN
        SELECT coalesce(v_correlation_id, c.correlation_id) INTO v_correlation_id
          FROM ledger.events c WHERE c.id = p_caused_by_event_id;
        IF NOT FOUND THEN
            v_problem := 'caused_by_event_id';
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        PERFORM ledger._refuse_submission(v_problem, 1, 1, p_customer_id, p_event_type, p_payload,
                                          p_priority, p_caused_by_event_id);
    END IF;

    INSERT INTO ledger.events (customer_id, event_type, payload, priority, run_after, max_attempts,
                               idempotency_key, correlation_id, caused_by_event_id, changed_by,
                               changed_by_kind, created_at, updated_at)
    VALUES (p_customer_id, p_event_type, p_payload, coalesce(p_priority, 0),
            coalesce(p_run_after, v_now), v_max_attempts, p_idempotency_key,
            coalesce(v_correlation_id, gen_random_uuid()), p_caused_by_event_id, v_actor, v_kind,
            v_now, v_now)
    ON CONFLICT (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING * INTO v_event;

    IF FOUND THEN
        IF v_event.run_after <= v_now THEN
            PERFORM ledger._wake_workers(jsonb_build_object(p_event_type, 1));
        END IF;
        RETURN ROW(true, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
                   v_event.priority, v_event.run_after, v_event.idempotency_key,
                   v_event.correlation_id, v_event.created_at)::api.receipt;
    END IF;

    -- The idempotency key was used before: a repeat of the same submit answers with that event.
    SELECT * INTO v_event FROM ledger.events e
     WHERE e.customer_id = p_customer_id AND e.idempotency_key = p_idempotency_key;
    IF (v_event.event_type, v_event.payload, v_event.priority)
       IS DISTINCT FROM (p_event_type, p_payload, coalesce(p_priority, 0)::smallint) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL004',
            MESSAGE = format('idempotency key %s was already used for event %s with a different body',
                             quote_literal(p_idempotency_key), v_event.id),
            DETAIL = 'Event 1 of 1 in the request; nothing was submitted.',
            HINT = 'Repeat a submit with exactly the same event_type, payload and priority, or use a new key.';
    END IF;
    RETURN ROW(false, v_event.id, v_event.customer_id, v_event.event_type, v_event.status,
               v_event.priority, v_event.run_after, v_event.idempotency_key, v_event.correlation_id,
               v_event.created_at)::api.receipt;
END
$$;
COMMENT ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz) IS
    'Submits one event (queued, one audit row, a wake-up NOTIFY unless throttled). With an idempotency key, repeating the same submit returns the original event (created = false); the same key with another body is refused (AL004).';
GRANT EXECUTE ON FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz)
    TO agentledger_api, agentledger_worker;
-- end db/functions/submit_event.sql

COMMIT;
