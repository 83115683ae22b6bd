-- The mark behind per-customer ordering: each customer's earliest open ordered event is
-- first_in_line, the only one claims may take. Every way an event leaves or re-joins the line moves
-- the mark (completion, an operator's cancel, a re-queue, a DBA's raw UPDATE), no customer can have
-- two events marked, and no raw UPDATE can move the mark or the line by other means.
BEGIN;
SELECT plan(25);

CREATE SCHEMA tests;
CREATE FUNCTION tests.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-08-01 09:00:00+00'::timestamptz;
INSERT INTO ledger.event_types (name, description, ordered_per_customer) VALUES
    ('tests_ordered', 'ordered per customer', true), ('tests_free', 'not ordered', false);

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
CREATE FUNCTION tests.submitted(p_name text, p_customer text, p_type text DEFAULT 'tests_ordered') RETURNS void
LANGUAGE sql BEGIN ATOMIC
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event(p_customer, p_type, '{}', p_now => tests.now(), p_key => tests.key('intake'))).id;
END;
-- The names of a customer's events marked first, then those waiting: 'd1 | d2 d3'.
CREATE FUNCTION tests.line(p_customer text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT coalesce(string_agg(f.name, ' ' ORDER BY e.id) FILTER (WHERE e.first_in_line AND e.status <> 'completed' AND e.order_released_at IS NULL), '-')
               || ' | ' ||
               coalesce(string_agg(f.name, ' ' ORDER BY e.id) FILTER (WHERE NOT e.first_in_line AND e.status <> 'completed' AND e.order_released_at IS NULL), '-')
          FROM tests.fx f JOIN ledger.events e ON e.id = f.id WHERE e.customer_id = p_customer AND e.ordered);
CREATE FUNCTION tests.claim_and_finish() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_claim record;
BEGIN
    SELECT c.id, c.lease_token INTO v_claim FROM api.claim_events('tests-worker', 1, '{tests_ordered}', tests.now(), tests.key('tests-worker')) c;
    PERFORM api.decide_events(ARRAY[v_claim.id], ARRAY[v_claim.lease_token], '{approved}', NULL, NULL, true, tests.now(),
                              tests.key('tests-worker'));
    PERFORM api.complete_events(ARRAY[v_claim.id], ARRAY[v_claim.lease_token], NULL, tests.now(),
                                tests.key('tests-worker'));
    RETURN (SELECT f.name FROM tests.fx f WHERE f.id = v_claim.id);
END
$$;

-- 3 Submitted: the first of each customer is marked, the rest wait; unordered events carry no mark.
SELECT tests.submitted('d1', 'cust-d'), tests.submitted('d2', 'cust-d'), tests.submitted('d3', 'cust-d'),
       tests.submitted('e1', 'cust-e'), tests.submitted('df', 'cust-d', 'tests_free');
SELECT is(tests.line('cust-d'), 'd1 | d2 d3', 'd1 is first in its customer''s line, d2 and d3 wait');
SELECT is(tests.line('cust-e'), 'e1 | -', 'e1, alone, is first');
SELECT is((SELECT e.first_in_line FROM ledger.events e WHERE e.id = tests.id('df')), false, 'the unordered df is not in a line');

-- 2 The generic transition claims only the first of a line, as the claim functions do.
SELECT throws_ok(format($$SELECT api.transition_event(%s, 'processing', p_now => %L, p_key => %L)$$,
                        tests.id('d2'), tests.now(), tests.key('tests-worker')),
                 'AL003', NULL, 'transition_event refuses to claim d2 while d1 is first in cust-d''s line (AL003)');
SELECT is(tests.line('cust-d'), 'd1 | d2 d3', 'and the line is as it was');

-- 2 Completion moves the mark to the next.
SELECT is(tests.claim_and_finish(), 'd1', 'd1 is claimed and completed');
SELECT is(tests.line('cust-d'), 'd2 | d3', 'd2 is first now');

-- 2 An operator's cancel of the queued first releases it; the next is first.
SELECT is((SELECT r.status::text FROM api.cancel_event(tests.id('d2'), 'withdrawn', tests.now(), tests.key('ops-ann')) r),
          'failed', 'the queued d2 is cancelled');
SELECT is(tests.line('cust-d'), 'd3 | -', 'd3 is first now');

-- 2 Re-queued, a cancelled event re-joins the line behind the one first now.
SELECT is((SELECT r.status::text FROM api.requeue_event(tests.id('d2'), 'customer asked again', tests.now(), tests.key('ops-ann')) r),
          'queued', 'the cancelled d2 is re-queued');
SELECT is(tests.line('cust-d'), 'd3 | d2', 'd2 waits behind d3, which was first already');

-- 4 Into an empty line, a re-queued event is first at once.
SELECT is((SELECT r.status::text FROM api.cancel_event(tests.id('e1'), 'withdrawn', tests.now(), tests.key('ops-ann')) r),
          'failed', 'the queued e1 is cancelled');
SELECT is(tests.line('cust-e'), '- | -', 'cust-e''s line is empty');
SELECT is((SELECT r.status::text FROM api.requeue_event(tests.id('e1'), 'customer asked again', tests.now(), tests.key('ops-ann')) r),
          'queued', 'e1 is re-queued');
SELECT is(tests.line('cust-e'), 'e1 | -', 'into the empty line, e1 is first');

-- 2 A DBA's raw UPDATE that releases the first moves the mark too.
UPDATE ledger.events SET status = 'failed', change_reason = 'stopped by the DBA' WHERE id = tests.id('d3');
SELECT is(tests.line('cust-d'), 'd3 | d2', 'failed, d3 holds the line');
UPDATE ledger.events SET order_released_at = tests.now() WHERE id = tests.id('d3');
SELECT is(tests.line('cust-d'), 'd2 | -', 'released by the DBA, d3 hands the line to d2');

-- 2 At most one open event per customer is first in line, even for a writer the triggers trust.
SELECT tests.submitted('d4', 'cust-d');
SELECT format('UPDATE ledger.events SET first_in_line = true WHERE id = %s', tests.id('d4')) AS promote_d4 \gset
SET LOCAL ROLE agentledger_owner;
SELECT throws_ok(:'promote_d4', '23505', NULL, 'a second first in line for cust-d is refused (unique index)');
RESET ROLE;
SELECT is(tests.claim_and_finish(), 'd2', 'the claim takes d2, first in line; d4 waits');

-- 5 A DBA cannot move the line by hand, but a raw re-queue puts an event back in it.
SELECT throws_ok(format('UPDATE ledger.events SET first_in_line = false WHERE id = %s', tests.id('d4')),
                 'AL012', NULL, 'first_in_line is kept by the database (AL012)');
SELECT throws_ok(format('UPDATE ledger.events SET ordered = false WHERE id = %s', tests.id('d4')),
                 'AL012', NULL, 'whether an event is ordered is fixed at submit (AL012)');
SELECT throws_ok(format('UPDATE ledger.events SET order_released_at = now() WHERE id = %s', tests.id('d4')),
                 'AL003', NULL, 'a queued event cannot give up its place but by a cancel (AL003)');
UPDATE ledger.events SET status = 'queued', change_reason = 'asked again, by the DBA' WHERE id = tests.id('d3');
SELECT is((SELECT e.order_released_at FROM ledger.events e WHERE e.id = tests.id('d3')), NULL,
          're-queued by a raw UPDATE, d3 is no longer released');
SELECT is(tests.line('cust-d'), 'd4 | d3', 'd3 is back in line, behind d4');

-- 1 Each settlement moved the customer's line row.
SELECT cmp_ok((SELECT l.version FROM ledger.order_lines l WHERE l.customer_id = 'cust-d'), '>=', 6::bigint,
              'cust-d''s line row was taken at every submit, completion, cancel and re-queue');

SELECT * FROM finish();
ROLLBACK;
