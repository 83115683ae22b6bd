-- Reading events (get, list, history), queue statistics, and the operator and worker status changes
-- (transition, requeue, cancel).
BEGIN;
SELECT plan(56);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT f.id FROM tests.fx f WHERE f.name = p_name $$;
CREATE TABLE tests.stats (name text PRIMARY KEY, stats jsonb NOT NULL);
-- The principals: the session's login acts for dba; an intake agent submits, worker agents claim and
-- decide, operators re-queue and cancel, each with a key of its own name.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, p.role)
  FROM (VALUES ('tests-intake', 'agent', 'submitter'), ('worker-1', 'agent', 'worker'),
               ('worker-2', 'agent', 'worker'), ('worker-9', 'agent', 'worker'),
               ('operator-1', 'human', 'reviewer'), ('operator-2', 'human', 'reviewer')) p (name, kind, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Statistics before any fixture exists, to measure what the fixtures add.
INSERT INTO tests.stats VALUES ('before', api.queue_stats('2001-03-10 00:00:00+00'));

-- A type of our own keeps the per-type counts ours alone.
INSERT INTO ledger.event_types (name, description) VALUES ('tests_reads', 'events of the reads test');
UPDATE ledger.settings SET lease_duration = '90 seconds';

-- e1..e5, one a day: e1 stays queued, e2 is approved, e3 (another type) and e5 stay queued, e4 failed.
INSERT INTO tests.fx
SELECT v.name, (api.submit_event(v.customer_id, v.event_type, v.payload, p_now => v.at,
                                 p_key => tests.key('tests-intake'))).id
  FROM (VALUES ('e1', 'tests-reads-a', 'tests_reads', '{"n": 1}'::jsonb, '2001-03-01 00:00:00+00'::timestamptz),
               ('e2', 'tests-reads-b', 'tests_reads', '{"n": 2}', '2001-03-02 00:00:00+00'),
               ('e3', 'tests-reads-a', 'support_ticket', '{"n": 3}', '2001-03-03 00:00:00+00'),
               ('e4', 'tests-reads-a', 'tests_reads', '{"n": 4}', '2001-03-04 00:00:00+00'),
               ('e5', 'tests-reads-b', 'tests_reads', '{"n": 5}', '2001-03-05 00:00:00+00')) v
       (name, customer_id, event_type, payload, at)
 ORDER BY v.name;
DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e2'), 'processing', p_now => '2001-04-01 10:00:00+00', p_key => tests.key('worker-1')); END $setup$;
DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e2'), 'approved', p_result => '{"approve": true}', p_now => '2001-04-01 10:05:00+00', p_key => tests.key('worker-1')); END $setup$;
DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e4'), 'processing', p_now => '2001-04-02 10:00:00+00', p_key => tests.key('worker-2')); END $setup$;
DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e4'), 'failed', p_reason => 'model timeout', p_details => '{"error_type": "Timeout"}', p_now => '2001-04-02 10:01:00+00', p_key => tests.key('worker-2')); END $setup$;

-- api.get_event -------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT e.id, e.customer_id, e.event_type, e.status, e.payload, e.attempts, e.result, e.version,
             e.changed_by, e.created_at
        FROM api.get_event(tests.id('e2')) e$$,
    $$VALUES (tests.id('e2'), 'tests-reads-b'::text, 'tests_reads'::text, 'approved'::ledger.event_status,
              '{"n": 2}'::jsonb, 0, '{"approve": true}'::jsonb, 3, 'worker-1'::text,
              '2001-03-02 00:00:00+00'::timestamptz)$$,
    'api.get_event returns the event with the given id as it now is (attempts count the action''s tries once decided)');
SELECT throws_ok($$SELECT api.get_event(-1)$$, 'AL001', NULL,
    'api.get_event refuses an id that names no event');
SELECT is(
    (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
      WHERE a.attrelid = 'api.event'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname LIKE 'lease%'),
    ARRAY['lease_owner', 'lease_expires_at'],
    'api.event, what clients see of an event, shows who holds the lease and until when, but has no lease_token field');

-- api.list_events -----------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_status => 'queued', p_event_type => 'tests_reads') e$$,
    $$VALUES (tests.id('e1')), (tests.id('e5'))$$,
    'api.list_events filters by status, in id order');
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_customer_id => 'tests-reads-a') e$$,
    $$VALUES (tests.id('e1')), (tests.id('e3')), (tests.id('e4'))$$,
    'api.list_events filters by customer, in id order');
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_event_type => 'tests_reads') e$$,
    $$VALUES (tests.id('e1')), (tests.id('e2')), (tests.id('e4')), (tests.id('e5'))$$,
    'api.list_events filters by event type, in id order');
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_created_after => '2001-03-01 00:00:00+00',
                                       p_created_before => '2001-03-04 00:00:00+00') e$$,
    $$VALUES (tests.id('e2')), (tests.id('e3'))$$,
    'api.list_events filters by a created_at range whose bounds are exclusive');
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_status => 'failed', p_customer_id => 'tests-reads-a',
                                       p_event_type => 'tests_reads') e$$,
    $$VALUES (tests.id('e4'))$$,
    'api.list_events applies every filter given together');
SELECT results_eq(
    $$SELECT e.id FROM api.list_events(p_event_type => 'tests_reads', p_limit => 2) e$$,
    $$VALUES (tests.id('e1')), (tests.id('e2'))$$,
    'api.list_events returns at most p_limit events, lowest ids first');
SELECT results_eq(
    format($$SELECT e.id FROM api.list_events(p_event_type => 'tests_reads', p_after_id => %s, p_limit => 2) e$$,
           tests.id('e2')),
    $$VALUES (tests.id('e4')), (tests.id('e5'))$$,
    'api.list_events with p_after_id set to the last id of a page returns the next page');
SELECT is_empty(
    format($$SELECT e.id FROM api.list_events(p_event_type => 'tests_reads', p_after_id => %s, p_limit => 2) e$$,
           tests.id('e5')),
    'api.list_events past the last event returns an empty page');
SELECT throws_ok($$SELECT api.list_events(p_limit => 0)$$, 'AL019', NULL,
    'api.list_events refuses a limit of 0');
SELECT throws_ok($$SELECT api.list_events(p_limit => 1001)$$, 'AL019', NULL,
    'api.list_events refuses a limit above 1000');
SELECT throws_ok($$SELECT api.list_events(p_limit => NULL)$$, 'AL019', NULL,
    'api.list_events refuses a NULL limit');
SELECT lives_ok($$SELECT api.list_events(p_limit => 1000)$$,
    'api.list_events accepts a limit of 1000');
SELECT throws_ok($$SELECT api.list_events(p_status => 'nope')$$, 'AL020', NULL,
    'api.list_events refuses an unknown status');

-- api.event_history ---------------------------------------------------------------------------------
SELECT results_eq(
    format($$SELECT h.event_id, h.customer_id, h.version, h.from_status, h.to_status, h.actor, h.actor_kind,
                    h.reason, h.details, h.attempt
               FROM api.event_history(%s) h$$, tests.id('e4')),
    format($$VALUES (%1$s::bigint, 'tests-reads-a'::text, 1, NULL::ledger.event_status, 'queued'::ledger.event_status,
                     'tests-intake'::text, 'agent'::ledger.actor_kind, NULL::text, NULL::jsonb, 0),
                    (%1$s, 'tests-reads-a', 2, 'queued', 'processing', 'worker-2', 'agent', NULL, NULL, 1),
                    (%1$s, 'tests-reads-a', 3, 'processing', 'failed', 'worker-2', 'agent', 'model timeout',
                     '{"error_type": "Timeout"}', 1)$$, tests.id('e4')),
    'api.event_history returns every status change of the event, oldest first, with actor, reason and details');
SELECT is(
    (SELECT array_agg(h.seq) FROM api.event_history(tests.id('e4')) h),
    (SELECT array_agg(a.seq ORDER BY a.seq) FROM ledger.audit_log a WHERE a.event_id = tests.id('e4')),
    'api.event_history returns the audit rows of the event in seq order');
SELECT is_empty(
    $$SELECT h.seq FROM api.event_history(tests.id('e4')) h
       WHERE h.hash !~ '^[0-9a-f]{64}$' OR (h.version = 1) <> (h.prev_hash IS NULL)
          OR h.prev_hash !~ '^[0-9a-f]{64}$'$$,
    'api.event_history shows hashes as 64 hex digits, and no previous hash on the first row only');
SELECT is_empty(
    $$SELECT h.seq FROM api.event_history(tests.id('e4')) h JOIN ledger.audit_log a ON a.seq = h.seq
       WHERE h.hash <> encode(a.hash, 'hex') OR h.prev_hash IS DISTINCT FROM encode(a.prev_hash, 'hex')$$,
    'api.event_history shows the stored hashes, hex encoded');
SELECT is_empty(
    $$SELECT h.seq FROM (SELECT h.*, lag(h.hash) OVER (ORDER BY h.seq) AS before
                           FROM api.event_history(tests.id('e4')) h) h
       WHERE h.version > 1 AND h.prev_hash IS DISTINCT FROM h.before$$,
    'in api.event_history each row''s prev_hash is the hash of the row before it');
SELECT throws_ok($$SELECT api.event_history(-1)$$, 'AL001', NULL,
    'api.event_history refuses an id that names no event');

-- api.queue_stats -----------------------------------------------------------------------------------
INSERT INTO tests.stats VALUES ('after', api.queue_stats('2001-03-02 00:00:10.25+00'));
SELECT results_eq(
    $$SELECT c ->> 'status', (c ->> 'events')::integer
        FROM tests.stats s, jsonb_array_elements(s.stats -> 'counts') c
       WHERE s.name = 'after' AND c ->> 'event_type' = 'tests_reads'$$,
    $$VALUES ('queued', 2), ('approved', 1), ('failed', 1)$$,
    'api.queue_stats counts events per type and status, in status order');
SELECT is(
    (SELECT (s.stats ->> 'oldest_runnable_since')::timestamptz FROM tests.stats s WHERE s.name = 'after'),
    '2001-03-01 00:00:00+00'::timestamptz,
    'api.queue_stats names when the longest-waiting runnable event became runnable');
SELECT is(
    (SELECT (s.stats ->> 'oldest_queued_age_seconds')::numeric FROM tests.stats s WHERE s.name = 'after'),
    86410.250,
    'api.queue_stats gives how long the longest-waiting runnable event has waited, in seconds at p_now');
SELECT is(
    (SELECT (a.stats ->> 'decided_awaiting_action')::integer - (b.stats ->> 'decided_awaiting_action')::integer
       FROM tests.stats a, tests.stats b WHERE a.name = 'after' AND b.name = 'before'),
    1,
    'api.queue_stats counts a decided event without a lease as awaiting its follow-up action');
SELECT is(
    (SELECT jsonb_typeof(s.stats -> 'notification_queue_usage') FROM tests.stats s WHERE s.name = 'after'),
    'number',
    'api.queue_stats reports the notification queue usage as a number');

-- api.transition_event ------------------------------------------------------------------------------
INSERT INTO tests.fx
SELECT v.name, (api.submit_event('tests-reads-c', 'tests_reads', '{}', p_now => '2001-06-01 00:00:00+00')).id
  FROM (VALUES ('e6'), ('e7'), ('e8'), ('e9')) v (name) ORDER BY v.name;

SELECT throws_ok(format($$SELECT api.transition_event(%s, 'banana')$$, tests.id('e6')), 'AL020', NULL,
    'api.transition_event refuses an unknown status');
SELECT throws_ok($$SELECT api.transition_event(-1, 'processing')$$, 'AL001', NULL,
    'api.transition_event refuses an id that names no event');
SELECT results_eq(
    $$SELECT e.status, e.lease_owner, e.lease_expires_at, e.attempts
        FROM api.transition_event(tests.id('e6'), 'processing', p_now => '2001-06-01 09:00:00+00',
                                  p_key => tests.key('worker-9')) e$$,
    $$VALUES ('processing'::ledger.event_status, 'worker-9'::text, '2001-06-01 09:01:30+00'::timestamptz, 1)$$,
    'moving to processing gives the acting principal a lease until p_now + settings.lease_duration and counts an attempt');
SELECT ok(
    (SELECT e.lease_token IS NOT NULL AND e.version = 2 FROM ledger.events e WHERE e.id = tests.id('e6')),
    'a claimed event holds a lease token in ledger.events');
SELECT ok(
    (SELECT NOT (to_jsonb(e) ? 'lease_token') AND e.lease_owner = 'worker-9' FROM api.get_event(tests.id('e6')) e),
    'api.get_event shows who holds the lease of a claimed event but not its token');
SELECT lives_ok(
    $$SELECT api.transition_event(tests.id('e6'), 'approved', p_result => '{"score": 0.9}',
                                  p_now => '2001-06-01 09:00:30+00', p_key => tests.key('worker-9'))$$,
    'the lease holder may decide a claimed event');
SELECT results_eq(
    $$SELECT e.status, e.lease_owner, e.lease_token, e.lease_expires_at, e.result, e.attempts
        FROM ledger.events e WHERE e.id = tests.id('e6')$$,
    $$VALUES ('approved'::ledger.event_status, NULL::text, NULL::uuid, NULL::timestamptz,
              '{"score": 0.9}'::jsonb, 0)$$,
    'deciding an event (leaving processing) clears its lease, keeps the result and starts the count of attempts at its action');

DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e7'), 'processing', p_now => '2001-06-01 10:00:00+00', p_key => tests.key('worker-9')); END $setup$;
SELECT lives_ok(
    $$SELECT api.transition_event(tests.id('e7'), 'queued', p_reason => 'giving it back',
                                  p_now => '2001-06-01 10:00:10+00', p_key => tests.key('worker-9'))$$,
    'a claimed event may be released back to queued');
SELECT results_eq(
    $$SELECT e.status, e.lease_owner, e.lease_token, e.lease_expires_at, e.attempts, e.run_after
        FROM ledger.events e WHERE e.id = tests.id('e7')$$,
    $$VALUES ('queued'::ledger.event_status, NULL::text, NULL::uuid, NULL::timestamptz, 0,
              '2001-06-01 10:00:10+00'::timestamptz)$$,
    'releasing an event (leaving processing) clears its lease, returns the attempt its claim counted and makes it runnable at p_now');
SELECT throws_ok(format($$SELECT api.transition_event(%s, 'queued')$$, tests.id('e7')), 'AL003', NULL,
    'api.transition_event refuses a move to the status the event already has');
SELECT throws_ok(format($$SELECT api.transition_event(%s, 'completed')$$, tests.id('e7')), 'AL003', NULL,
    'api.transition_event refuses a move ledger.transitions does not list (queued to completed)');

DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e8'), 'processing', p_now => '2001-06-01 11:00:00+00', p_key => tests.key('worker-9')); END $setup$;
SELECT results_eq(
    $$SELECT e.status, e.lease_owner, e.lease_expires_at, e.last_error, e.last_error_type, e.attempts
        FROM api.transition_event(tests.id('e8'), 'failed', p_reason => 'bad input',
                                  p_details => '{"error_type": "ValueError"}', p_now => '2001-06-01 11:00:05+00', p_key => tests.key('worker-9')) e$$,
    $$VALUES ('failed'::ledger.event_status, NULL::text, NULL::timestamptz, 'bad input'::text, 'ValueError'::text, 1)$$,
    'failing a claimed event clears its lease and records the error and its type');

-- api.requeue_event and api.cancel_event ------------------------------------------------------------
SELECT throws_ok(format($$SELECT api.requeue_event(%s, 'why not')$$, tests.id('e7')), 'AL003', NULL,
    'api.requeue_event refuses a queued event: only failed events can be re-queued');
SELECT throws_ok(format($$SELECT api.requeue_event(%s, 'why not')$$, tests.id('e6')), 'AL003', NULL,
    'api.requeue_event refuses an approved event: only failed events can be re-queued');
SELECT throws_ok(format($$SELECT api.requeue_event(%s, NULL)$$, tests.id('e8')), 'AL008', NULL,
    'api.requeue_event refuses to re-queue without a reason');
SELECT throws_ok(format($$SELECT api.requeue_event(%s, '   ')$$, tests.id('e8')), 'AL008', NULL,
    'api.requeue_event refuses a blank reason');
SELECT throws_ok($$SELECT api.requeue_event(-1, 'why not')$$, 'AL001', NULL,
    'api.requeue_event refuses an id that names no event');
SELECT results_eq(
    $$SELECT e.status, e.attempts, e.run_after, e.changed_by, e.changed_by_kind, e.change_reason, e.lease_owner
        FROM api.requeue_event(tests.id('e8'), 'input fixed upstream', p_now => '2001-06-02 08:00:00+00',
                               p_key => tests.key('operator-1')) e$$,
    $$VALUES ('queued'::ledger.event_status, 0, '2001-06-02 08:00:00+00'::timestamptz, 'operator-1'::text,
              'human'::ledger.actor_kind, 'input fixed upstream'::text, NULL::text)$$,
    'api.requeue_event puts a failed event back in the queue at p_now with its attempts reset to 0, by the operator, with the reason');
SELECT results_eq(
    $$SELECT a.from_status, a.to_status, a.actor, a.reason, a.attempt FROM ledger.audit_log a
       WHERE a.event_id = tests.id('e8') ORDER BY a.seq DESC LIMIT 1$$,
    $$VALUES ('failed'::ledger.event_status, 'queued'::ledger.event_status, 'operator-1'::text,
              'input fixed upstream'::text, 0)$$,
    'a re-queue leaves an audit row with the operator and the reason');

DO $setup$ BEGIN PERFORM api.transition_event(tests.id('e9'), 'processing', p_now => '2001-06-01 12:00:00+00', p_key => tests.key('worker-9')); END $setup$;
SELECT throws_ok(format($$SELECT api.cancel_event(%s, 'stop')$$, tests.id('e6')), 'AL003', NULL,
    'api.cancel_event refuses an approved event: only queued events can be cancelled');
SELECT throws_ok(format($$SELECT api.cancel_event(%s, 'stop')$$, tests.id('e9')), 'AL003', NULL,
    'api.cancel_event refuses an event being processed: only queued events can be cancelled');
SELECT throws_ok(format($$SELECT api.cancel_event(%s, NULL)$$, tests.id('e7')), 'AL008', NULL,
    'api.cancel_event refuses to cancel without a reason');
SELECT throws_ok(format($$SELECT api.cancel_event(%s, '')$$, tests.id('e7')), 'AL008', NULL,
    'api.cancel_event refuses an empty reason');
SELECT throws_ok($$SELECT api.cancel_event(-1, 'stop')$$, 'AL001', NULL,
    'api.cancel_event refuses an id that names no event');
SELECT results_eq(
    $$SELECT e.status, e.last_error, e.change_reason, e.changed_by
        FROM api.cancel_event(tests.id('e7'), 'customer withdrew', p_now => '2001-06-02 09:00:00+00',
                              p_key => tests.key('operator-2')) e$$,
    $$VALUES ('failed'::ledger.event_status, 'customer withdrew'::text, 'customer withdrew'::text, 'operator-2'::text)$$,
    'api.cancel_event fails a queued event with the reason as its error');
SELECT results_eq(
    $$SELECT a.from_status, a.to_status, a.actor, a.reason FROM ledger.audit_log a
       WHERE a.event_id = tests.id('e7') ORDER BY a.seq DESC LIMIT 1$$,
    $$VALUES ('queued'::ledger.event_status, 'failed'::ledger.event_status, 'operator-2'::text,
              'customer withdrew'::text)$$,
    'a cancel leaves an audit row with the operator and the reason');
SELECT results_eq(
    $$SELECT e.status, e.changed_by FROM ledger.events e WHERE e.id = tests.id('e9')$$,
    $$VALUES ('processing'::ledger.event_status, 'worker-9'::text)$$,
    'a refused cancel leaves the event as it was');

-- attempts ------------------------------------------------------------------------------------------
CREATE TABLE tests.once AS
    SELECT id FROM api.submit_event('tests-reads-once', 'tests_reads', '{}', p_now => '2001-07-01 00:00:00+00');
UPDATE ledger.events SET max_attempts = 1 WHERE id = (SELECT id FROM tests.once);
-- The api functions never leave an event queued with no attempt left; a DBA's raw UPDATE can.
UPDATE ledger.events SET attempts = max_attempts WHERE id = (SELECT id FROM tests.once);
SELECT throws_ok($$SELECT api.transition_event((SELECT id FROM tests.once), 'processing', p_key => tests.key('worker-2'))$$,
    'AL003', NULL, 'a claim is refused once the event has used all its attempts');
SELECT lives_ok($$SELECT api.cancel_event((SELECT id FROM tests.once), 'out of attempts', p_key => tests.key('operator-1'))$$,
    'an operator can still cancel an event out of attempts');

SELECT * FROM finish();
ROLLBACK;
