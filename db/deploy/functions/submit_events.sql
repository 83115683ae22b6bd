-- Deploy agentledger:functions/submit_events to pg
-- Written by `agentledger db functions` from db/functions/submit_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.submit_events(jsonb, text, text, timestamptz);

-- begin db/functions/submit_events.sql
CREATE OR REPLACE FUNCTION api.submit_events(
    p_events jsonb,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS SETOF api.receipt
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{submitter,worker}');
    v_count integer;
    v_max_batch integer;
    v_items ledger.submission[];
    v_bad record;
    v_receipts api.receipt[];
    v_queued jsonb;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
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
            ERRCODE = 'AL021',
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
    IF v_acting.event_types IS NOT NULL OR v_acting.customers IS NOT NULL THEN
        SELECT i.customer_id, i.event_type INTO v_bad FROM unnest(v_items) i
         WHERE NOT ledger._in_scope(v_acting, i.customer_id, i.event_type) ORDER BY i.ord LIMIT 1;
        IF FOUND THEN
            PERFORM ledger._refuse_out_of_scope(v_acting, v_bad.customer_id, v_bad.event_type);
        END IF;
    END IF;

    WITH inserted AS (
        INSERT INTO ledger.events (id, customer_id, event_type, payload, priority, run_after,
                                   max_attempts, idempotency_key, correlation_id, caused_by_event_id,
                                   submitted_by, changed_by, changed_by_kind, changed_by_key, created_at,
                                   updated_at)
        OVERRIDING SYSTEM VALUE
        SELECT i.id, i.customer_id, i.event_type, i.payload, coalesce(i.priority, 0),
               coalesce(i.run_after, v_now), t.max_attempts, i.idempotency_key,
               coalesce(i.correlation_id,
                        CASE WHEN i.caused_by_event_id IS NOT NULL THEN
                            (SELECT c.correlation_id FROM ledger.events c WHERE c.id = i.caused_by_event_id)
                        END,
                        gen_random_uuid()),
               i.caused_by_event_id, v_acting.principal, v_acting.principal, v_acting.kind,
               v_acting.api_key, v_now, v_now
          FROM unnest(v_items) i
          JOIN ledger.event_types t ON t.name = i.event_type
         -- Key order, not request order: two batches repeating the same keys then take their
         -- index locks in the same order and cannot deadlock. Receipts follow request order anyway.
         ORDER BY i.customer_id, i.idempotency_key, i.ord
        ON CONFLICT (customer_id, submitted_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
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
                          WHERE e.customer_id = i.customer_id AND e.submitted_by = v_acting.principal
                            AND e.idempotency_key = i.idempotency_key AND e.id <> i.id
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
                                  WHERE e.customer_id = i.customer_id AND e.submitted_by = v_acting.principal
                                    AND e.idempotency_key = i.idempotency_key AND e.id <> i.id
                                  LIMIT 1) e) s
     ORDER BY s.ord;
END
$$;
COMMENT ON FUNCTION api.submit_events(jsonb, timestamptz, text) IS
$$Submits a batch of events in one statement, with one audit row each and one wake-up NOTIFY.
p_events: [{"customer_id", "event_type", "payload", "priority"?, "run_after"?, "idempotency_key"?,
"correlation_id"?, "caused_by_event_id"?}, ...]. Returns one receipt per item, in order; created is
false when the item's idempotency key matched an earlier identical submit by the same principal (the
one of the API key p_key, a submitter or worker key, or of the login). All or nothing; 42501 if an
item lies outside the key's scope.$$;
GRANT EXECUTE ON FUNCTION api.submit_events(jsonb, timestamptz, text)
    TO agentledger_api, agentledger_worker;
-- end db/functions/submit_events.sql

COMMIT;
