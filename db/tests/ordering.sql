-- Per-customer ordering: events of types ordered per customer are claimed one at a time per
-- customer, across all ordered types, in submission order (priority does not jump the line); a
-- failed one holds the rest back until an operator re-queues it or cancels it; unordered types keep
-- full parallelism.
BEGIN;
SELECT plan(25);

CREATE SCHEMA tests;
CREATE FUNCTION tests.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-08-01 09:00:00+00'::timestamptz;

INSERT INTO ledger.event_types (name, description, ordered_per_customer) VALUES
    ('tests_ordered', 'ordered per customer', true), ('tests_ordered_b', 'also ordered', true),
    ('tests_free', 'not ordered', false);

-- The principals: an intake service, a worker agent and the operator ops-ann, each with a key.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, p.role)
  FROM (VALUES ('intake', 'service', 'submitter'), ('tests-worker', 'agent', 'worker'),
               ('ops-ann', 'human', 'reviewer')) p (name, kind, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);
CREATE FUNCTION tests.submitted(p_name text, p_customer text, p_type text, p_priority integer DEFAULT 0) RETURNS void
LANGUAGE sql BEGIN ATOMIC
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event(p_customer, p_type, '{}', p_priority => p_priority::smallint,
                                     p_now => tests.now(), p_key => tests.key('intake'))).id;
END;
-- Claimed tokens, to report on.
CREATE TABLE tests.held (id bigint PRIMARY KEY, token uuid NOT NULL);
-- Claim everything claimable now; the names claimed, sorted.
CREATE FUNCTION tests.claim() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    v_names text[];
BEGIN
    WITH c AS (SELECT * FROM api.claim_events('tests-worker', 100, NULL, tests.now(), tests.key('tests-worker'))),
         kept AS (INSERT INTO tests.held SELECT c.id, c.lease_token FROM c
                  ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token RETURNING id)
    SELECT coalesce(array_agg(f.name ORDER BY f.name), '{}') INTO v_names FROM kept k JOIN tests.fx f ON f.id = k.id;
    RETURN v_names;
END
$$;
CREATE FUNCTION tests.finish(p_name text) RETURNS text LANGUAGE sql VOLATILE
RETURN (SELECT string_agg(r.outcome, ',') FROM (
    SELECT r.outcome FROM api.decide_events(ARRAY[tests.id(p_name)], ARRAY[(SELECT h.token FROM tests.held h WHERE h.id = tests.id(p_name))],
                                            '{approved}', NULL, NULL, true, tests.now(), tests.key('tests-worker')) r
    UNION ALL
    SELECT r.outcome FROM api.complete_events(ARRAY[tests.id(p_name)], ARRAY[(SELECT h.token FROM tests.held h WHERE h.id = tests.id(p_name))],
                                              NULL, tests.now(), tests.key('tests-worker')) r) r);
CREATE FUNCTION tests.fail(p_name text) RETURNS text LANGUAGE sql VOLATILE
RETURN (SELECT r.status::text FROM api.fail_events(ARRAY[tests.id(p_name)], ARRAY[(SELECT h.token FROM tests.held h WHERE h.id = tests.id(p_name))],
                                                   '{bank offline}', NULL, '{false}', tests.now(),
                                                   tests.key('tests-worker')) r);

-- Customer A: a1 (ordered), a2 (the other ordered type), af (unordered), a3 (ordered, urgent).
-- Customer B: b1, b2 (ordered). Customer C: c1 (ordered), then c2 (ordered) which is cancelled.
SELECT tests.submitted('a1', 'cust-a', 'tests_ordered'), tests.submitted('a2', 'cust-a', 'tests_ordered_b'),
       tests.submitted('af', 'cust-a', 'tests_free'), tests.submitted('a3', 'cust-a', 'tests_ordered', 9),
       tests.submitted('b1', 'cust-b', 'tests_ordered'), tests.submitted('b2', 'cust-b', 'tests_ordered'),
       tests.submitted('c1', 'cust-c', 'tests_ordered'), tests.submitted('c2', 'cust-c', 'tests_ordered');

-- 2 The flag comes from the type, whatever the INSERT says.
SELECT is((SELECT array_agg(e.ordered ORDER BY f.name) FROM tests.fx f JOIN ledger.events e ON e.id = f.id),
          ARRAY[true, true, true, false, true, true, true, true], 'events of ordered types are ordered; the free one is not');
INSERT INTO ledger.events (customer_id, event_type, payload, ordered) VALUES ('cust-z', 'tests_free', '{}', true);
SELECT is((SELECT ordered FROM ledger.events WHERE customer_id = 'cust-z'), false,
          'an INSERT cannot make an event of an unordered type ordered');

-- 4 One at a time per customer, in submission order, across ordered types; free events go on.
SELECT is(tests.claim(), ARRAY['a1', 'af', 'b1', 'c1'],
          'the first claim takes each customer''s earliest ordered event and the free one; priority 9 does not jump the line');
SELECT is(tests.claim(), '{}'::text[], 'nothing more while each customer holds one');
SELECT is(tests.finish('a1'), 'done,done', 'a1 is decided and completed');
SELECT is(tests.claim(), ARRAY['a2'], 'then a2, of the other ordered type');

-- 6 A failure holds the rest back; a re-queue puts it first again.
SELECT is(tests.fail('a2'), 'failed', 'a2 fails for good');
SELECT is(tests.claim(), '{}'::text[], 'a3 waits behind the failed a2');
SELECT is((SELECT b FROM jsonb_array_elements(api.queue_stats(tests.now())->'ordered_blocked') b
            WHERE b->>'event_type' = 'tests_ordered'),
          '{"event_type": "tests_ordered", "events": 1}'::jsonb, 'queue_stats counts a3 as held back');
SELECT results_eq($$SELECT customer_id, failed_event_id, last_error, blocked_events FROM api.list_blocked()$$,
                  format($$VALUES ('cust-a', %s::bigint, 'bank offline', 1::bigint)$$, tests.id('a2')),
                  'api.list_blocked names the customer, the failed event, its error and what it holds back');
SELECT is((SELECT r.status::text FROM api.requeue_event(tests.id('a2'), 'bank back', tests.now(), tests.key('ops-ann')) r),
          'queued', 'an operator re-queues a2');
SELECT is(tests.claim(), ARRAY['a2'], 'a2 is claimed again, still before a3');

-- 8 Cancel: of a failed ordered event, the failure is accepted (a note) and the line moves on.
SELECT is(tests.fail('b1'), 'failed', 'b1 fails for good');
SELECT is((SELECT r.status::text FROM api.cancel_event(tests.id('b1'), 'refunded by hand', tests.now(), tests.key('ops-ann')) r),
          'failed', 'an operator cancels the failed b1: it stays failed');
SELECT is((SELECT format('%s>%s %s: %s', a.from_status, a.to_status, a.actor, a.reason) FROM ledger.audit_log a
            WHERE a.event_id = tests.id('b1') ORDER BY a.seq DESC LIMIT 1),
          'failed>failed ops-ann: refunded by hand', 'accepting the failure is an audit row of its own');
SELECT is(tests.claim(), ARRAY['b2'], 'b2 goes on');
SELECT throws_ok(format('SELECT api.cancel_event(%s, %L, %L, %L)', tests.id('c1'), 'stop', tests.now(), tests.key('ops-ann')),
                 'AL003', NULL, 'a held event cannot be cancelled (AL003)');
SELECT throws_ok(format('SELECT api.cancel_event(%s, %L, %L, %L)', tests.id('b1'), 'again', tests.now(), tests.key('ops-ann')),
                 'AL003', NULL, 'a failure accepted once cannot be cancelled again (AL003)');
SELECT is(tests.fail('af'), 'failed', 'the unordered af fails');
SELECT throws_ok(format('SELECT api.cancel_event(%s, %L, %L, %L)', tests.id('af'), 'accept', tests.now(), tests.key('ops-ann')),
                 'AL003', NULL, 'a failed unordered event cannot be cancelled: it holds nothing back (AL003)');

-- 3 Cancel of a queued ordered event releases its place too.
SELECT is((SELECT r.status::text FROM api.cancel_event(tests.id('a3'), 'customer withdrew', tests.now(), tests.key('ops-ann')) r),
          'failed', 'the queued a3 is cancelled');
SELECT is(tests.finish('c1'), 'done,done', 'c1 completes');
SELECT is(tests.claim(), ARRAY['c2'], 'then c2');

-- 2 Everything verifies, and nothing is blocked any more.
SELECT is(api.queue_stats(tests.now())->'ordered_blocked', '[]'::jsonb, 'nothing is held back');
SELECT is((SELECT bool_and(v.ok) FROM tests.fx f, api.verify_audit(f.id) v), true, 'every chain verifies');

SELECT * FROM finish();
ROLLBACK;
