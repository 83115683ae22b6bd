-- api.submit_event and api.submit_events: receipts, audit, refusals, idempotency, batches.
-- A refusal's atomicity (nothing of a refused batch is kept) needs commits: tests/test_submit_atomicity.py.
BEGIN;
SELECT plan(61);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT f.id FROM tests.fx f WHERE f.name = p_name $$;
CREATE FUNCTION tests.events_of(p_customer_id text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ledger.events e WHERE e.customer_id = p_customer_id $$;
CREATE FUNCTION tests.audit_rows_of(p_customer_id text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT count(*) FROM ledger.audit_log a WHERE a.customer_id = p_customer_id $$;
-- The HINT of the error a statement raises (NULL if it raises none).
CREATE FUNCTION tests.error_hint(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    RETURN v_hint;
END
$$;
CREATE TABLE tests.receipts (name text, ord integer, r api.receipt);
-- The session's login acts for the principal dba; an intake agent submits with a key of its own.
SELECT api.create_principal('dba', 'human', session_user);
SELECT api.create_principal('intake-bot', 'agent');
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys SELECT 'intake-bot', api.create_api_key('intake-bot', 'submitter');
CREATE FUNCTION tests.key(p_name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT k.key FROM tests.keys k WHERE k.name = p_name $$;

-- A valid submit ------------------------------------------------------------------------------------
SELECT lives_ok(
    $$INSERT INTO tests.receipts
      SELECT 'first', 1, s FROM api.submit_event('tests-s-1', 'loan_application', '{"amount": 1000}',
                                                 p_now => '2031-05-01 12:00:00+00',
                                                 p_key => tests.key('intake-bot')) s$$,
    'a valid submit is accepted');
INSERT INTO tests.fx SELECT 'first', (r).id FROM tests.receipts WHERE name = 'first';

SELECT results_eq(
    $$SELECT (r).created, (r).customer_id, (r).event_type, (r).status, (r).priority, (r).run_after,
             (r).idempotency_key, (r).correlation_id IS NOT NULL, (r).created_at
        FROM tests.receipts WHERE name = 'first'$$,
    $$VALUES (true, 'tests-s-1'::text, 'loan_application'::text, 'queued'::ledger.event_status,
              0::smallint, '2031-05-01 12:00:00+00'::timestamptz, NULL::text, true,
              '2031-05-01 12:00:00+00'::timestamptz)$$,
    'a submit returns a receipt with created true and status queued; run_after and created_at default to p_now; a new chain gets a fresh correlation id');

SELECT results_eq(
    $$SELECT e.id, e.status, e.payload, e.attempts, e.version, e.changed_by, e.changed_by_kind
        FROM ledger.events e WHERE e.customer_id = 'tests-s-1'$$,
    $$VALUES (tests.id('first'), 'queued'::ledger.event_status, '{"amount": 1000}'::jsonb, 0, 1,
              'intake-bot'::text, 'agent'::ledger.actor_kind)$$,
    'a submit stores the event, queued at version 1, attributed to the principal of the key');

SELECT results_eq(
    $$SELECT a.event_id, a.from_status, a.to_status, a.version, a.actor, a.actor_kind, a.api_key, a.attempt,
             a.prev_hash IS NULL, octet_length(a.hash)
        FROM ledger.audit_log a WHERE a.customer_id = 'tests-s-1'$$,
    $$VALUES (tests.id('first'), NULL::ledger.event_status, 'queued'::ledger.event_status, 1,
              'intake-bot'::text, 'agent'::ledger.actor_kind, 'intake-bot'::text, 0, true, 32)$$,
    'a submit writes exactly one audit row: from NULL to queued, version 1, naming the principal, its kind and the key');

INSERT INTO tests.fx
SELECT 'second', s.id FROM api.submit_event('tests-s-2', 'support_ticket', '{}') s;
SELECT results_eq(
    $$SELECT a.actor, a.actor_kind, a.api_key, a.db_user FROM ledger.audit_log a WHERE a.event_id = tests.id('second')$$,
    $$VALUES ('dba'::text, 'human'::ledger.actor_kind, NULL::text, session_user::text COLLATE "default")$$,
    'a submit without a key is attributed to the principal the session''s login acts for, and names the login');

-- A DBA registers a new type ------------------------------------------------------------------------
SELECT lives_ok(
    $$INSERT INTO ledger.event_types (name, description, max_attempts)
      VALUES ('tests.dba-type', 'registered by the submit test', 3)$$,
    'a DBA registers a new event type with a plain INSERT into ledger.event_types');
SELECT results_eq(
    $$SELECT w.event_type, w.last_notified_at FROM ledger.wakeups w WHERE w.event_type = 'tests.dba-type'$$,
    $$VALUES ('tests.dba-type'::text, '-infinity'::timestamptz)$$,
    'registering a type gives it its wake-up throttle row');
SELECT lives_ok(
    $$INSERT INTO tests.receipts SELECT 'dba', 1, s FROM api.submit_event('tests-s-dba', 'tests.dba-type', '{"k": 1}') s$$,
    'an event of a newly registered type is accepted');
SELECT results_eq(
    $$SELECT (r).created, (r).status, e.max_attempts
        FROM tests.receipts JOIN ledger.events e ON e.id = (r).id WHERE name = 'dba'$$,
    $$VALUES (true, 'queued'::ledger.event_status, 3)$$,
    'an event of a newly registered type is queued and takes its max_attempts from the type');

-- Refused inputs ------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT api.submit_event('', 'loan_application', '{}')$$,
    'AL006', NULL, 'an empty customer_id is refused');
SELECT throws_ok($$SELECT api.submit_event(NULL, 'loan_application', '{}')$$,
    'AL006', NULL, 'a missing customer_id is refused');
SELECT throws_ok($$SELECT api.submit_event(repeat('x', 65), 'loan_application', '{}')$$,
    'AL006', NULL, 'a customer_id longer than 64 characters is refused');
SELECT lives_ok($$SELECT api.submit_event(repeat('x', 64), 'loan_application', '{}')$$,
    'a customer_id of exactly 64 characters is accepted');
SELECT throws_ok($$SELECT api.submit_event(E'a\tb', 'loan_application', '{}')$$,
    'AL006', NULL, 'a customer_id containing a tab (a control character) is refused');
SELECT throws_ok($$SELECT api.submit_event('a' || chr(1) || 'b', 'loan_application', '{}')$$,
    'AL006', NULL, 'a customer_id containing chr(1) is refused');

SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'no_such_type', '{}')$$,
    'AL002', NULL, 'an unregistered event type is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', NULL, '{}')$$,
    'AL002', NULL, 'a missing event type is refused');
SELECT is(
    (WITH h AS (SELECT coalesce(tests.error_hint($$SELECT api.submit_event('tests-s-bad', 'no_such_type', '{}')$$),
                                '') AS hint)
     SELECT array_agg(t.name ORDER BY t.name) FROM ledger.event_types t, h WHERE strpos(h.hint, t.name) = 0),
    NULL,
    'the hint of an unknown-type refusal lists every registered type, a newly registered one included');

SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '[1, 2]')$$,
    'AL007', NULL, 'a payload that is a JSON array is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '"text"')$$,
    'AL007', NULL, 'a payload that is a JSON string is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '42')$$,
    'AL007', NULL, 'a payload that is a JSON number is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', NULL)$$,
    'AL007', NULL, 'a missing payload is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{"a":"\u0000"}'::jsonb)$$,
    '22P05', NULL, 'a payload with a \u0000 escape is refused by PostgreSQL itself (22P05)');

SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_priority => 32768)$$,
    'AL019', NULL, 'a priority above 32767 is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_priority => -32769)$$,
    'AL019', NULL, 'a priority below -32768 is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_key => 'al_' || repeat('0', 64))$$,
    '28000', NULL, 'a submit with a key that is not valid is refused, not made as the login');
SELECT throws_ok($$SELECT api.submit_events('[]', p_key => 'not a key')$$,
    '28000', NULL, 'a key that is not valid is refused by the batch submit too');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_caused_by_event_id => -1)$$,
    'AL001', NULL, 'a caused_by_event_id naming no event is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_idempotency_key => '')$$,
    '23514', NULL, 'an empty idempotency key is refused');
SELECT throws_ok($$SELECT api.submit_event('tests-s-bad', 'loan_application', '{}', p_idempotency_key => repeat('k', 256))$$,
    '23514', NULL, 'an idempotency key longer than 255 characters is refused');

-- Payload size --------------------------------------------------------------------------------------
SELECT is((SELECT s.max_payload_bytes FROM ledger.settings s), 1048576,
    'the payload limit is 1048576 bytes (1 MiB) after deploy');
SELECT is((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
             JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = 'ledger.settings'::regclass AND a.attname = 'max_payload_bytes'),
    '1048576', 'the default payload limit is 1048576 bytes');
UPDATE ledger.settings SET max_payload_bytes = 100;
SELECT lives_ok(
    $$SELECT api.submit_event('tests-s-size', 'loan_application', jsonb_build_object('x', repeat('y', 91)))$$,
    'a payload of exactly max_payload_bytes bytes of JSON text is accepted');
SELECT throws_ok(
    $$SELECT api.submit_event('tests-s-size', 'loan_application', jsonb_build_object('x', repeat('y', 92)))$$,
    'AL005', NULL, 'a payload one byte over max_payload_bytes is refused');
SELECT throws_ok(
    $$SELECT api.submit_events(jsonb_build_array(
          jsonb_build_object('customer_id', 'tests-s-size-batch', 'event_type', 'loan_application', 'payload', '{}'::jsonb),
          jsonb_build_object('customer_id', 'tests-s-size-batch', 'event_type', 'loan_application',
                             'payload', jsonb_build_object('x', repeat('y', 500)))))$$,
    'AL005', NULL, 'an oversized payload anywhere in a batch refuses the batch');
UPDATE ledger.settings SET max_payload_bytes = 1048576;

-- Batches -------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT api.submit_events('{"customer_id": "tests-s-bad"}')$$,
    'AL021', NULL, 'a batch that is a JSON object, not an array, is refused');
SELECT throws_ok($$SELECT api.submit_events(NULL)$$,
    'AL021', NULL, 'a missing batch is refused');
UPDATE ledger.settings SET max_batch_size = 2;
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-big", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "tests-s-big", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "tests-s-big", "event_type": "loan_application", "payload": {}}]')$$,
    'AL013', NULL, 'a batch larger than settings.max_batch_size is refused');
SELECT lives_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-big", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "tests-s-big", "event_type": "loan_application", "payload": {}}]')$$,
    'a batch of exactly settings.max_batch_size events is accepted');
UPDATE ledger.settings SET max_batch_size = 1000;
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-bad", "event_type": "loan_application", "payload": {}, "priority": "abc"}]')$$,
    'AL021', NULL, 'an item with a wrongly typed field (priority "abc") is refused');
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-bad", "event_type": "loan_application", "payload": {}, "correlation_id": "not-a-uuid"}]')$$,
    'AL021', NULL, 'an item with a correlation_id that is not a uuid is refused');
SELECT throws_ok($$SELECT api.submit_events('[1]')$$,
    'AL021', NULL, 'an item that is not a JSON object is refused');
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-bad", "event_type": "loan_application", "payload": {}, "priority": 40000}]')$$,
    'AL019', NULL, 'an item with a priority out of range is refused');
SELECT is((SELECT count(*) FROM api.submit_events('[]')), 0::bigint,
    'an empty batch is accepted and returns no receipts');

SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-atomic", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "", "event_type": "loan_application", "payload": {}}]')$$,
    'AL006', NULL, 'a batch with one invalid item is refused');

-- Idempotency ---------------------------------------------------------------------------------------
INSERT INTO tests.fx
SELECT 'idem', s.id FROM api.submit_event('tests-s-idem', 'loan_application', '{"n": 1}', p_priority => 5,
                                         p_idempotency_key => 'order-1', p_now => '2031-05-01 12:00:00+00') s;
SELECT results_eq(
    $$SELECT s.created, s.id, s.created_at
        FROM api.submit_event('tests-s-idem', 'loan_application', '{"n": 1}', p_priority => 5,
                              p_idempotency_key => 'order-1', p_now => '2031-05-02 12:00:00+00') s$$,
    $$VALUES (false, tests.id('idem'), '2031-05-01 12:00:00+00'::timestamptz)$$,
    'repeating a submit with the same customer, key and body returns the existing event with created false');
SELECT is(tests.events_of('tests-s-idem'), 1::bigint, 'a repeated submit creates no new event');
SELECT is(tests.audit_rows_of('tests-s-idem'), 1::bigint, 'a repeated submit writes no audit row');
SELECT throws_ok(
    $$SELECT api.submit_event('tests-s-idem', 'loan_application', '{"n": 2}', p_priority => 5,
                              p_idempotency_key => 'order-1')$$,
    'AL004', NULL, 'the same idempotency key with a different payload is refused');
SELECT throws_ok(
    $$SELECT api.submit_event('tests-s-idem', 'fraud_alert', '{"n": 1}', p_priority => 5,
                              p_idempotency_key => 'order-1')$$,
    'AL004', NULL, 'the same idempotency key with a different event type is refused');
SELECT throws_ok(
    $$SELECT api.submit_event('tests-s-idem', 'loan_application', '{"n": 1}', p_priority => 6,
                              p_idempotency_key => 'order-1')$$,
    'AL004', NULL, 'the same idempotency key with a different priority is refused');
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-atomic2", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "tests-s-idem", "event_type": "loan_application", "payload": {"n": 3},
                                  "priority": 5, "idempotency_key": "order-1"}]')$$,
    'AL004', NULL, 'a batch repeating a used key with a different body is refused');

SELECT results_eq(
    $$SELECT s.created, s.id <> tests.id('idem'), s.customer_id, s.idempotency_key
        FROM api.submit_event('tests-s-idem-other', 'loan_application', '{"n": 1}', p_priority => 5,
                              p_idempotency_key => 'order-1') s$$,
    $$VALUES (true, true, 'tests-s-idem-other'::text, 'order-1'::text)$$,
    'the same idempotency key for a different customer creates a new event');

INSERT INTO tests.receipts
SELECT 'dup', row_number() OVER (), s
  FROM api.submit_events('[{"customer_id": "tests-s-dup", "event_type": "support_ticket", "payload": {"q": 1}, "idempotency_key": "k"},
                           {"customer_id": "tests-s-dup", "event_type": "support_ticket", "payload": {"q": 1}, "idempotency_key": "k"}]') s;
SELECT results_eq(
    $$SELECT (r).created, (r).id = min((r).id) OVER () FROM tests.receipts WHERE name = 'dup' ORDER BY ord$$,
    $$VALUES (true, true), (false, true)$$,
    'an idempotency key repeated inside one batch gives two receipts for one event, the second with created false');
SELECT is(tests.events_of('tests-s-dup'), 1::bigint, 'a key repeated inside one batch creates one event');
SELECT is(tests.audit_rows_of('tests-s-dup'), 1::bigint, 'a key repeated inside one batch writes one audit row');
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "tests-s-dup2", "event_type": "support_ticket", "payload": {"q": 1}, "idempotency_key": "k"},
                                 {"customer_id": "tests-s-dup2", "event_type": "support_ticket", "payload": {"q": 2}, "idempotency_key": "k"}]')$$,
    'AL004', NULL, 'a key repeated inside one batch with a different body is refused');

-- Causes and correlation ----------------------------------------------------------------------------
INSERT INTO tests.fx
SELECT 'cause', s.id FROM api.submit_event('tests-s-cause', 'fraud_alert', '{}',
                                          p_correlation_id => 'c0ffee00-0000-4000-8000-000000000001') s;
INSERT INTO tests.receipts
SELECT 'effect', 1, s FROM api.submit_event('tests-s-effect', 'support_ticket', '{}',
                                           p_caused_by_event_id => tests.id('cause')) s;
SELECT results_eq(
    $$SELECT (r).correlation_id, e.correlation_id, e.caused_by_event_id
        FROM tests.receipts JOIN ledger.events e ON e.id = (r).id WHERE name = 'effect'$$,
    $$VALUES ('c0ffee00-0000-4000-8000-000000000001'::uuid, 'c0ffee00-0000-4000-8000-000000000001'::uuid,
              tests.id('cause'))$$,
    'an event with caused_by_event_id inherits the correlation_id of its cause');
SELECT results_eq(
    format($$SELECT s.correlation_id FROM api.submit_events('[{"customer_id": "tests-s-effect2", "event_type": "support_ticket",
                                                                "payload": {}, "caused_by_event_id": %s}]') s$$,
           tests.id('cause')),
    $$VALUES ('c0ffee00-0000-4000-8000-000000000001'::uuid)$$,
    'a batch item with caused_by_event_id inherits the correlation_id of its cause');

-- Order of receipts ---------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT s.customer_id, s.created, s.id = tests.id('idem')
        FROM api.submit_events('[{"customer_id": "tests-s-order-a", "event_type": "loan_application", "payload": {}},
                                 {"customer_id": "tests-s-idem", "event_type": "loan_application", "payload": {"n": 1},
                                  "priority": 5, "idempotency_key": "order-1"},
                                 {"customer_id": "tests-s-order-b", "event_type": "loan_application", "payload": {}}]') s$$,
    $$VALUES ('tests-s-order-a'::text, true, false), ('tests-s-idem'::text, false, true),
             ('tests-s-order-b'::text, true, false)$$,
    'receipts come back in request order, an idempotent repeat of an older event included');

-- Scheduling ----------------------------------------------------------------------------------------
INSERT INTO tests.receipts
SELECT 'later', 1, s FROM api.submit_event('tests-s-later', 'loan_application', '{}',
                                          p_run_after => '2031-05-03 08:00:00+00',
                                          p_now => '2031-05-01 12:00:00+00') s;
SELECT results_eq(
    $$SELECT (r).run_after, e.run_after, e.status
        FROM tests.receipts JOIN ledger.events e ON e.id = (r).id WHERE name = 'later'$$,
    $$VALUES ('2031-05-03 08:00:00+00'::timestamptz, '2031-05-03 08:00:00+00'::timestamptz,
              'queued'::ledger.event_status)$$,
    'a run_after in the future is kept on the receipt and the event');

SELECT * FROM finish();
ROLLBACK;
