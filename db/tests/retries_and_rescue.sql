-- Retries and rescue. api.fail_events: the back-off schedule of retryable failures (base, doubling,
-- capped), attempts counted until max_attempts makes a failure final, non-retryable failures, and
-- where the error lands (event and audit row). api.rescue_expired_leases: nothing before a lease
-- expires; then processing goes back to queued (or to failed with its attempts used up), a decided
-- event loses its kept lease and is offered again, and a completion is never undone.
BEGIN;
SELECT plan(38);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;

-- The fixture clock: every call gets p_now => tests.at(seconds after 08:00).
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-05-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';

-- Who acts: an intake service, the worker agent worker-1 and the lease rescuer, a service that runs
-- the rescue with a worker key; each with a key of its own name.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, p.role)
  FROM (VALUES ('tests-intake', 'service', 'submitter'), ('worker-1', 'agent', 'worker'),
               ('lease-rescue', 'service', 'worker')) p (name, kind, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Events by fixture name; ids are never predictable.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL UNIQUE);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);

-- Lease tokens of the claims made, latest last.
CREATE TABLE tests.claims (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id bigint NOT NULL,
                           token uuid NOT NULL);
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT c.token FROM tests.claims c WHERE c.id = tests.id(p_name) ORDER BY c.seq DESC LIMIT 1);

-- A fresh event p_name with an event type of its own ('tests_' || p_name, allowing p_max_attempts),
-- submitted at 0 s.
CREATE FUNCTION tests.submitted(p_name text, p_max_attempts integer DEFAULT 5) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.event_types (name, description, max_attempts)
    VALUES ('tests_' || p_name, 'fixture ' || p_name, p_max_attempts);
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event('tests-retries', 'tests_' || p_name, '{}', p_now => tests.at(0),
                                     p_key => tests.key('tests-intake'))).id;
END
$$;

-- api.claim_events (p_queue 'events') or api.claim_actions ('actions') of event p_name by worker-1
-- at p_at; answers whether the claim took it.
CREATE FUNCTION tests.claim(p_name text, p_queue text, p_at numeric) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF p_queue = 'events' THEN
        INSERT INTO tests.claims (id, token)
        SELECT r.id, r.lease_token FROM api.claim_events('worker-1', 1, ARRAY['tests_' || p_name], tests.at(p_at),
                                                         tests.key('worker-1')) r;
    ELSE
        INSERT INTO tests.claims (id, token)
        SELECT r.id, r.lease_token FROM api.claim_actions('worker-1', 1, ARRAY['tests_' || p_name], tests.at(p_at),
                                                          tests.key('worker-1')) r;
    END IF;
    RETURN FOUND;
END
$$;

-- Reports the failure of event p_name at p_at under its latest token; answers the outcome.
CREATE FUNCTION tests.fail(p_name text, p_at numeric, p_retryable boolean DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
    SELECT r.outcome FROM api.fail_events(ARRAY[tests.id(p_name)], ARRAY[tests.token(p_name)],
                                          '{"model timed out after 30 s"}', '{ModelTimeout}',
                                          ARRAY[p_retryable], tests.at(p_at), tests.key('worker-1')) r
$$;

-- Claims event p_name at p_claim_at and fails it at p_fail_at (retryable); answers the event
-- afterwards as (status, attempts, run_after).
CREATE FUNCTION tests.claim_and_fail(p_name text, p_claim_at numeric, p_fail_at numeric) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT tests.claim(p_name, 'events', p_claim_at) THEN
        RETURN format('not claimable at %s s', p_claim_at);
    END IF;
    IF tests.fail(p_name, p_fail_at) <> 'done' THEN
        RETURN 'failure not recorded';
    END IF;
    RETURN (SELECT (e.status, e.attempts, e.run_after)::text FROM ledger.events e WHERE e.id = tests.id(p_name));
END
$$;

-- The event p_name: status, attempts, run_after, whether it holds a lease.
CREATE FUNCTION tests.state(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT (e.status, e.attempts, e.run_after, e.lease_token IS NOT NULL)::text
          FROM ledger.events e WHERE e.id = tests.id(p_name));

CREATE FUNCTION tests.audit_rows(p_name text) RETURNS integer LANGUAGE sql STABLE
RETURN (SELECT count(*)::integer FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name));

-- The latest audit row of event p_name: from, to, actor, actor kind, reason, attempt.
CREATE FUNCTION tests.last_audit(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(a.from_status, a.to_status, a.actor, a.actor_kind, a.reason, a.attempt)::text
          FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name) ORDER BY a.seq DESC LIMIT 1);
CREATE FUNCTION tests.last_audit_details(p_name text) RETURNS jsonb LANGUAGE sql STABLE
RETURN (SELECT a.details FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name) ORDER BY a.seq DESC LIMIT 1);

-- What rescues freed, by label (among the fixtures of this file).
CREATE TABLE tests.rescues (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL,
                            r api.report NOT NULL);
CREATE FUNCTION tests.rescue(p_label text, p_at numeric) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tests.rescues (label, r)
    SELECT p_label, r FROM api.rescue_expired_leases(p_now => tests.at(p_at), p_key => tests.key('lease-rescue')) r
     WHERE r.event_id IN (SELECT f.id FROM tests.fx f);
    RETURN coalesce((SELECT array_agg(f.name ORDER BY t.seq) FROM tests.rescues t
                       JOIN tests.fx f ON f.id = (t.r).event_id WHERE t.label = p_label), '{}');
END
$$;

UPDATE ledger.settings
   SET lease_duration = '30 seconds', retry_base_delay = '10 seconds', retry_max_delay = '1 minute';

-- Back-off of retryable failures --------------------------------------------------------------------
-- b1 may be tried 5 times. Each attempt is claimed when the previous back-off ends and fails 1 s later.
DO $setup$ BEGIN PERFORM tests.submitted('b1'); END $setup$;
SELECT is(tests.claim_and_fail('b1', 0, 1), ROW('queued'::ledger.event_status, 1, tests.at(11))::text,
    'a retryable failure of attempt 1 queues the event again with run_after = p_now + retry_base_delay (10 s)');
SELECT is(tests.claim('b1', 'events', 10.999), false,
    'a retried event is not claimed before its back-off ends');
SELECT is(tests.claim_and_fail('b1', 11, 12), ROW('queued'::ledger.event_status, 2, tests.at(32))::text,
    'a retryable failure of attempt 2 waits twice the base (20 s)');
SELECT is(tests.claim_and_fail('b1', 32, 33), ROW('queued'::ledger.event_status, 3, tests.at(73))::text,
    'a retryable failure of attempt 3 waits four times the base (40 s)');
SELECT is(tests.claim_and_fail('b1', 73, 74), ROW('queued'::ledger.event_status, 4, tests.at(134))::text,
    'a retryable failure of attempt 4 waits retry_max_delay (60 s), not eight times the base (80 s)');
SELECT results_eq(
    $$SELECT e.last_error, e.last_error_type FROM ledger.events e WHERE e.id = tests.id('b1')$$,
    $$VALUES ('model timed out after 30 s'::text, 'ModelTimeout'::text)$$,
    'a failure records its error text and type in last_error and last_error_type');
SELECT is(tests.last_audit('b1'),
          ROW('processing'::ledger.event_status, 'queued'::ledger.event_status, 'worker-1', 'agent'::ledger.actor_kind,
              'model timed out after 30 s', 4)::text,
    'the audit row of a retried failure goes from processing to queued, by the lease owner, with the error as reason, at the attempt that failed');
SELECT is(tests.last_audit_details('b1'),
          jsonb_build_object('error_type', 'ModelTimeout', 'retryable', true, 'retry_at', tests.at(134)),
    'the audit row of a retried failure carries the error type, that it is retryable, and when it is retried');
SELECT is(tests.claim_and_fail('b1', 134, 135), ROW('failed'::ledger.event_status, 5, tests.at(134))::text,
    'a failure of the last attempt (attempts = max_attempts) makes the event failed, however retryable');
SELECT is(tests.last_audit('b1'),
          ROW('processing'::ledger.event_status, 'failed'::ledger.event_status, 'worker-1', 'agent'::ledger.actor_kind,
              'model timed out after 30 s', 5)::text,
    'the audit row of the final failure goes from processing to failed with the error as reason');
SELECT is(tests.last_audit_details('b1'), '{"error_type": "ModelTimeout", "retryable": true}'::jsonb,
    'the audit row of the final failure carries the error type and no retry time');
SELECT is(tests.audit_rows('b1'), 11,
    'five attempts write eleven audit rows: the submit, then one per claim and one per failure');

-- A failure that is not retryable.
DO $setup$ BEGIN PERFORM tests.submitted('n1'); END $setup$;
SELECT is(tests.claim('n1', 'events', 0), true, 'the fixture: n1 is claimed at attempt 1 of 5');
SELECT is(tests.fail('n1', 1, false), 'done', 'a non-retryable failure is recorded');
SELECT is(tests.state('n1'), ROW('failed'::ledger.event_status, 1, tests.at(0), false)::text,
    'a non-retryable failure makes the event failed at once, with attempts left, without moving run_after');
SELECT results_eq(
    $$SELECT e.last_error, e.last_error_type, a.reason, a.details ->> 'error_type', a.details ->> 'retryable', a.details ? 'retry_at'
        FROM ledger.events e
        JOIN ledger.audit_log a ON a.event_id = e.id AND a.to_status = 'failed'
       WHERE e.id = tests.id('n1')$$,
    $$VALUES ('model timed out after 30 s'::text, 'ModelTimeout'::text, 'model timed out after 30 s'::text,
              'ModelTimeout'::text, 'false'::text, false)$$,
    'the error text and type of a non-retryable failure land in the event and in its one audit row (reason and details)');

-- A failed action (of a decided event) is retried in the action queue with the same back-off.
DO $setup$ BEGIN PERFORM tests.submitted('a1'); END $setup$;
DO $setup$ BEGIN
    PERFORM tests.claim('a1', 'events', 0);
    PERFORM api.decide_events(ARRAY[tests.id('a1')], ARRAY[tests.token('a1')], '{approved}',
                              p_keep_lease => false, p_now => tests.at(0), p_key => tests.key('worker-1'));
    PERFORM tests.claim('a1', 'actions', 0);
END $setup$;
SELECT tests.audit_rows('a1') AS a1_audit_before \gset
SELECT is(tests.fail('a1', 1), 'done', 'a retryable failure of an action is recorded');
SELECT is(tests.state('a1'), ROW('approved'::ledger.event_status, 1, tests.at(11), false)::text,
    'a retryable failure of action attempt 1 keeps the decision, ends the lease and moves run_after out by retry_base_delay');
SELECT is(tests.audit_rows('a1'), :a1_audit_before,
    'a retried action failure writes no audit row: the status does not change');

-- Rescue of expired leases --------------------------------------------------------------------------
-- All claimed at 1000 s with leases until 1030 s: p1 in processing; p2 in processing on its only
-- attempt; k1 decided, lease kept; c1 decided and completed at 1010 s; h1 in processing, its lease
-- renewed at 1020 s until 1050 s.
DO $setup$ BEGIN
    PERFORM tests.submitted('p1');
    PERFORM tests.submitted('p2', 1);
    PERFORM tests.submitted('k1');
    PERFORM tests.submitted('c1');
    PERFORM tests.submitted('h1');
    PERFORM tests.claim(n, 'events', 1000) FROM unnest('{p1,p2,k1,c1,h1}'::text[]) n;
    PERFORM api.decide_events(ARRAY[tests.id('k1'), tests.id('c1')], ARRAY[tests.token('k1'), tests.token('c1')],
                              '{approved,rejected}', p_now => tests.at(1000), p_key => tests.key('worker-1'));
    PERFORM api.complete_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], p_now => tests.at(1010),
                                p_key => tests.key('worker-1'));
    PERFORM api.heartbeat_events(ARRAY[tests.id('h1')], ARRAY[tests.token('h1')], tests.at(1020), tests.key('worker-1'));
END $setup$;
SELECT is((SELECT array_agg((e.status, e.lease_expires_at)::text ORDER BY e.id) FROM ledger.events e
            WHERE e.id IN (tests.id('p1'), tests.id('p2'), tests.id('k1'), tests.id('c1'), tests.id('h1'))),
          ARRAY[ROW('processing', tests.at(1030))::text, ROW('processing', tests.at(1030))::text,
                ROW('approved', tests.at(1030))::text, ROW('completed', NULL)::text,
                ROW('processing', tests.at(1050))::text],
    'the fixture: three leases end at 1030 s, one at 1050 s, and c1 is completed');
SELECT tests.audit_rows('p1') AS p1_audit_before, tests.audit_rows('k1') AS k1_audit_before \gset

SELECT is(tests.rescue('before-expiry', 1029.999), '{}',
    'rescue_expired_leases frees nothing while every lease is live, even a millisecond before it ends');
SELECT is(tests.rescue('at-expiry', 1030), '{p1,p2,k1}',
    'rescue_expired_leases frees every lease whose lease_expires_at has come, and only those');
SELECT results_eq(
    $$SELECT (t.r).event_id, (t.r).outcome, (t.r).status, (t.r).run_after FROM tests.rescues t
       WHERE t.label = 'at-expiry' ORDER BY t.seq$$,
    $$VALUES (tests.id('p1'), 'done'::text, 'queued'::ledger.event_status, tests.at(1030)),
             (tests.id('p2'), 'done', 'failed', NULL),
             (tests.id('k1'), 'done', 'approved', tests.at(1030))$$,
    'the rescue answers each event freed, with its new status and when it may run again');

-- p1: processing -> queued.
SELECT is(tests.state('p1'), ROW('queued'::ledger.event_status, 1, tests.at(1030), false)::text,
    'a rescued event in processing is queued again, runnable from p_now, its attempt still counted');
SELECT is(tests.audit_rows('p1') - :p1_audit_before, 1, 'the rescue of an event in processing writes one audit row');
SELECT is(tests.last_audit('p1'),
          ROW('processing'::ledger.event_status, 'queued'::ledger.event_status, 'lease-rescue', 'system'::ledger.actor_kind,
              format('lease of worker-1 expired at %s', tests.at(1030)), 1)::text,
    'the audit row of a rescue is by the principal running it as the system, saying whose lease expired when');
SELECT results_eq(
    $$SELECT e.last_error_type, e.last_lease_token FROM ledger.events e WHERE e.id = tests.id('p1')$$,
    $$VALUES ('LeaseExpired'::text, NULL::uuid)$$,
    'a rescued event records the expiry as its last error, and forgets the ended lease''s token');
SELECT is(tests.claim('p1', 'events', 1030), true, 'a rescued event can be claimed again at once');
SELECT is((SELECT e.attempts FROM ledger.events e WHERE e.id = tests.id('p1')), 2,
    'the claim after a rescue is the second attempt: the expired one counted');

-- p2: attempts used up -> failed.
SELECT is(tests.state('p2'), ROW('failed'::ledger.event_status, 1, tests.at(0), false)::text,
    'a rescued event in processing that has used all its attempts becomes failed');
SELECT is(tests.last_audit('p2'),
          ROW('processing'::ledger.event_status, 'failed'::ledger.event_status, 'lease-rescue', 'system'::ledger.actor_kind,
              format('lease of worker-1 expired at %s; all 1 attempts used', tests.at(1030)), 1)::text,
    'the audit row of a rescue to failed says the attempts are used up');

-- k1: decided with a kept lease -> lease dropped, status unchanged.
SELECT is(tests.state('k1'), ROW('approved'::ledger.event_status, 1, tests.at(1030), false)::text,
    'a rescued decided event keeps its status and loses the lease');
SELECT is(tests.audit_rows('k1'), :k1_audit_before,
    'the rescue of a decided event writes no audit row: its status does not change');
SELECT is(tests.claim('k1', 'actions', 1030), true,
    'a rescued decided event is offered to api.claim_actions');

-- c1: a completion before the rescue stands; h1: a renewed lease is rescued only when it ends.
-- (p1 and k1 were claimed again at 1030 s, under leases until 1060 s.)
SELECT is(tests.rescue('later', 1050), '{h1}',
    'a later rescue frees the renewed lease once it ended, and nothing that was completed');
SELECT is(tests.state('c1'), ROW('completed'::ledger.event_status, 1, tests.at(0), false)::text,
    'a completion committed before the rescue is never undone');
SELECT is(tests.rescue('again', 1050), '{}',
    'a second rescue at the same time finds nothing left to free');

SELECT throws_ok($$SELECT api.rescue_expired_leases(0, tests.at(5000), tests.key('lease-rescue'))$$, 'AL019', NULL,
    'rescue_expired_leases refuses p_limit 0 (AL019)');

SELECT * FROM finish();
ROLLBACK;
