-- Fencing: a lease token acts only while its lease is the event's current one. A stale token (its
-- lease expired and was rescued, the event claimed again, even by the same principal) is refused
-- with AL009 by every report and changes nothing; the rescue forgets the token, so it is never
-- answered already_done. api.transition_event respects leases: refused under another principal's
-- lease (live or expired, until the rescue frees it) and without a token under a fenced lease,
-- allowed to the holder with the current token, and a lease it took itself lets its principal go
-- on without a token.
BEGIN;
SELECT plan(33);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;

-- The fixture clock: every call gets p_now => tests.at(seconds after 08:00).
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-05-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';

-- Who acts: the session's login (a DBA, who runs the rescue), an intake service, two worker agents,
-- and the people alice, bob and operator-ann, who act through api.transition_event with worker keys.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, p.role)
  FROM (VALUES ('tests-intake', 'service', 'submitter'), ('worker-1', 'agent', 'worker'),
               ('worker-2', 'agent', 'worker'), ('alice', 'human', 'worker'), ('bob', 'human', 'worker'),
               ('operator-ann', 'human', 'worker')) p (name, kind, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Events by fixture name; ids are never predictable.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL UNIQUE);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);

-- Lease tokens of the claims made, in order.
CREATE TABLE tests.claims (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id bigint NOT NULL,
                           worker text NOT NULL, token uuid NOT NULL);
-- The token of the p_nth claim of event p_name (1 = the first).
CREATE FUNCTION tests.token(p_name text, p_nth integer) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT c.token FROM tests.claims c WHERE c.id = tests.id(p_name) ORDER BY c.seq OFFSET p_nth - 1 LIMIT 1);

-- A fresh event p_name with an event type of its own ('tests_' || p_name), submitted at 0 s.
CREATE FUNCTION tests.submitted(p_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.event_types (name, description) VALUES ('tests_' || p_name, 'fixture ' || p_name);
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event('tests-fencing', 'tests_' || p_name, '{}', p_now => tests.at(0),
                                     p_key => tests.key('tests-intake'))).id;
END
$$;

-- api.claim_events (p_queue 'events') or api.claim_actions ('actions') of event p_name by p_worker
-- at p_at; raises if the claim did not take it.
CREATE FUNCTION tests.claim(p_name text, p_queue text, p_worker text, p_at numeric) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_queue = 'events' THEN
        INSERT INTO tests.claims (id, worker, token)
        SELECT r.id, p_worker, r.lease_token FROM api.claim_events(p_worker, 1, ARRAY['tests_' || p_name], tests.at(p_at),
                                                                         tests.key(p_worker)) r;
    ELSE
        INSERT INTO tests.claims (id, worker, token)
        SELECT r.id, p_worker, r.lease_token FROM api.claim_actions(p_worker, 1, ARRAY['tests_' || p_name], tests.at(p_at),
                                                                          tests.key(p_worker)) r;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fixture %: % claim at % s took nothing', p_name, p_queue, p_at;
    END IF;
END
$$;

-- The answer for the one event of report p_call: outcome, then the code when refused.
CREATE FUNCTION tests.report(p_call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_answer text;
BEGIN
    EXECUTE format('SELECT concat_ws('' '', r.outcome, r.code) FROM %s r', p_call) INTO v_answer;
    RETURN v_answer;
END
$$;

-- All of event p_name a report could change, and its number of audit rows.
CREATE FUNCTION tests.snapshot(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(e.status, e.version, e.attempts, e.run_after, e.result, e.lease_owner, e.lease_token,
                   e.lease_expires_at, e.lease_fenced, e.last_lease_token, e.last_error, e.changed_by,
                   (SELECT count(*) FROM ledger.audit_log a WHERE a.event_id = e.id))::text
          FROM ledger.events e WHERE e.id = tests.id(p_name));

CREATE FUNCTION tests.status(p_name text) RETURNS ledger.event_status LANGUAGE sql STABLE
RETURN (SELECT e.status FROM ledger.events e WHERE e.id = tests.id(p_name));

UPDATE ledger.settings SET lease_duration = '30 seconds';

-- A stale token after rescue and a new claim by the same principal ---------------------------------
-- worker-1 claims s1 at 0 s (token 1) and goes silent; the rescue at 31 s queues it again; at 32 s
-- worker-1, restarted with the same key, claims it again (token 2) and approves it, keeping the lease.
DO $setup$ BEGIN PERFORM tests.submitted('s1'); END $setup$;
DO $setup$ BEGIN
    PERFORM tests.claim('s1', 'events', 'worker-1', 0);
    PERFORM api.rescue_expired_leases(p_now => tests.at(31));
    PERFORM tests.claim('s1', 'events', 'worker-1', 32);
    PERFORM api.decide_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 2)], '{approved}', '{"second life"}',
                              ARRAY['{"by": "second claim"}']::jsonb[], p_now => tests.at(33),
                              p_key => tests.key('worker-1'));
END $setup$;
SELECT is((SELECT (e.status, e.lease_owner, e.lease_token = tests.token('s1', 2), e.result)::text
             FROM ledger.events e WHERE e.id = tests.id('s1')),
          '(approved,worker-1,t,"{""by"": ""second claim""}")',
    'the fixture: s1 was approved under the second claim, whose lease worker-1 keeps');
SELECT tests.snapshot('s1') AS s1_before \gset

SELECT is(tests.report($$api.heartbeat_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 1)], tests.at(34), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a heartbeat with the token of a rescued lease is refused with AL009, though the same principal holds the new lease');
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 1)], '{rejected}',
                                           p_now => tests.at(34), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a decision with the token of a rescued lease is refused with AL009');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 1)], p_now => tests.at(34), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a completion with the token of a rescued lease is refused with AL009');
SELECT is(tests.report($$api.fail_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 1)], '{"late error"}',
                                         p_now => tests.at(34), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a failure with the token of a rescued lease is refused with AL009');
SELECT is(tests.report($$api.release_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 1)], p_now => tests.at(34), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a release with the token of a rescued lease is refused with AL009');
SELECT is(tests.snapshot('s1'), :'s1_before',
    'reports with a stale token change nothing: the second claim''s decision, lease and audit trail stand');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('s1')], ARRAY[tests.token('s1', 2)], p_now => tests.at(35), p_key => tests.key('worker-1'))$$),
          'done',
    'the current token still completes the event');

-- A stale token is refused even while the event is processing under the new claim.
DO $setup$ BEGIN PERFORM tests.submitted('s2'); END $setup$;
DO $setup$ BEGIN
    PERFORM tests.claim('s2', 'events', 'worker-1', 0);
    PERFORM api.rescue_expired_leases(p_now => tests.at(31));
    PERFORM tests.claim('s2', 'events', 'worker-1', 32);
END $setup$;
SELECT tests.snapshot('s2') AS s2_before \gset
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('s2')], ARRAY[tests.token('s2', 1)], '{approved}',
                                           p_now => tests.at(33), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a decision with a stale token is refused with AL009 while the event is processing under a new claim by the same principal');
SELECT is(tests.report($$api.release_events(ARRAY[tests.id('s2')], ARRAY[tests.token('s2', 1)], p_now => tests.at(33), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'a release with a stale token is refused with AL009 and does not give back the new claim');
SELECT is(tests.snapshot('s2'), :'s2_before',
    'the new claim of s2 is unchanged by the stale reports');

-- The rescue forgets the token of the lease it ends ------------------------------------------------
-- worker-1 claims r1 at 1000 s and approves it keeping the lease (token 1 is now also the token of
-- its latest report); the lease ends at 1030 s and is rescued at 1040 s.
DO $setup$ BEGIN PERFORM tests.submitted('r1'); END $setup$;
DO $setup$ BEGIN
    PERFORM tests.claim('r1', 'events', 'worker-1', 1000);
    PERFORM api.decide_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1', 1)], '{approved}', p_now => tests.at(1000),
                              p_key => tests.key('worker-1'));
END $setup$;
SELECT is((SELECT e.last_lease_token FROM ledger.events e WHERE e.id = tests.id('r1')), tests.token('r1', 1),
    'the fixture: the decision remembered its token as the latest report''s');
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1', 1)], '{approved}',
                                           p_now => tests.at(1001), p_key => tests.key('worker-1'))$$),
          'already_done',
    'before the rescue, the decision sent again is answered already_done');
DO $setup$ BEGIN PERFORM api.rescue_expired_leases(p_now => tests.at(1040)); END $setup$;
SELECT is((SELECT (e.status, e.lease_token, e.last_lease_token)::text FROM ledger.events e WHERE e.id = tests.id('r1')),
          '(approved,,)',
    'the rescue ends the lease and clears last_lease_token');
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1', 1)], '{approved}',
                                           p_now => tests.at(1041), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'after the rescue the old token is refused with AL009, never answered already_done');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1', 1)], p_now => tests.at(1041), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'after the rescue a completion with the old token is refused with AL009: the action is offered again, not done');
DO $setup$ BEGIN PERFORM tests.claim('r1', 'actions', 'worker-2', 1042); END $setup$;
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1', 1)], p_now => tests.at(1043), p_key => tests.key('worker-1'))$$),
          'refused AL009',
    'once another runner claims the action, the old token is still refused with AL009');
SELECT is((SELECT (e.status, e.lease_owner)::text FROM ledger.events e WHERE e.id = tests.id('r1')),
          '(approved,worker-2)',
    'the refused completion leaves the action to the runner that holds it');

-- api.transition_event and leases -------------------------------------------------------------------
-- The tutorial flow: alice claims through api.transition_event (an unfenced lease held by her
-- principal), bob is kept out, and alice approves without ever seeing a token. The decision ends
-- her lease: to run the action she claims it (a fenced lease) and completes with its token.
DO $setup$ BEGIN PERFORM tests.submitted('t1'); END $setup$;
SELECT lives_ok($$SELECT api.transition_event(tests.id('t1'), 'processing', p_now => tests.at(2000),
                                              p_key => tests.key('alice'))$$,
    'api.transition_event claims a queued event for the principal of the key');
SELECT throws_ok($$SELECT api.transition_event(tests.id('t1'), 'approved', p_now => tests.at(2010),
                                               p_key => tests.key('bob'))$$,
                 'AL009', NULL,
    'api.transition_event refuses (AL009) a principal acting without a token on an event under another principal''s live lease');
SELECT lives_ok($$SELECT api.transition_event(tests.id('t1'), 'approved', p_result => '{"ok": true}',
                                              p_now => tests.at(2010), p_key => tests.key('alice'))$$,
    'the principal holding a lease taken through api.transition_event decides without a token');
SELECT throws_ok($$SELECT api.transition_event(tests.id('t1'), 'completed', p_now => tests.at(2011),
                                               p_key => tests.key('alice'))$$,
                 'AL009', NULL,
    'the decision ended the lease: even its decider is refused (AL009) to complete it before claiming its action');
DO $setup$ BEGIN
    PERFORM tests.claim('t1', 'actions', 'alice', 2011);
    PERFORM api.transition_event(tests.id('t1'), 'completed', p_now => tests.at(2012),
                                 p_lease_token => tests.token('t1', 1), p_key => tests.key('alice'));
END $setup$;
SELECT results_eq(
    $$SELECT a.to_status, a.actor FROM ledger.audit_log a WHERE a.event_id = tests.id('t1') AND a.version > 1 ORDER BY a.seq$$,
    $$VALUES ('processing'::ledger.event_status, 'alice'::text), ('approved', 'alice'), ('completed', 'alice')$$,
    'the tutorial flow is audited as alice''s three steps (claiming the action is none), and the refused attempts left no trace');

-- A lease taken through the worker protocol is fenced: only its token acts, whoever calls.
DO $setup$ BEGIN PERFORM tests.submitted('t2'); END $setup$;
DO $setup$ BEGIN PERFORM tests.claim('t2', 'events', 'worker-1', 2000); END $setup$;
SELECT throws_ok($$SELECT api.transition_event(tests.id('t2'), 'approved', p_now => tests.at(2010),
                                               p_key => tests.key('worker-1'))$$,
                 'AL009', NULL,
    'api.transition_event refuses (AL009) even the principal holding a live fenced lease without its token');
SELECT throws_ok($$SELECT api.transition_event(tests.id('t2'), 'failed', 'stuck', p_now => tests.at(2010),
                                               p_key => tests.key('operator-ann'))$$,
                 'AL009', NULL,
    'api.transition_event refuses (AL009) another principal without a token under a live fenced lease');
SELECT throws_ok($$SELECT api.transition_event(tests.id('t2'), 'approved', p_now => tests.at(2010),
                                               p_lease_token => gen_random_uuid(), p_key => tests.key('worker-1'))$$,
                 'AL009', NULL,
    'api.transition_event refuses (AL009) a token that is not the event''s current lease token');
SELECT is(tests.status('t2'), 'processing', 'the refused transitions left t2 in processing');
SELECT lives_ok($$SELECT api.transition_event(tests.id('t2'), 'approved', p_now => tests.at(2010),
                                              p_lease_token => tests.token('t2', 1), p_key => tests.key('worker-1'))$$,
    'api.transition_event acts under a fenced lease when its holder gives its current token');
SELECT is(tests.status('t2'), 'approved', 'the transition with the right token approved t2');

-- An expired lease is not taken over by a transition: the rescue frees it, then another may claim.
DO $setup$ BEGIN PERFORM tests.submitted('t3'); END $setup$;
DO $setup$ BEGIN PERFORM tests.claim('t3', 'events', 'worker-1', 2000); END $setup$;
SELECT throws_ok($$SELECT api.transition_event(tests.id('t3'), 'failed', 'stuck', p_now => tests.at(2029.999),
                                               p_key => tests.key('operator-ann'))$$,
                 'AL009', NULL,
    'api.transition_event refuses another principal until the very end of a live lease');
SELECT throws_ok($$SELECT api.transition_event(tests.id('t3'), 'failed', 'stuck', p_now => tests.at(2030),
                                               p_key => tests.key('operator-ann'))$$,
                 'AL009', NULL,
    'api.transition_event refuses another principal once the lease has expired too, until the rescue frees it');
DO $setup$ BEGIN
    PERFORM api.rescue_expired_leases(p_now => tests.at(2031));
    PERFORM api.transition_event(tests.id('t3'), 'processing', p_now => tests.at(2032), p_key => tests.key('operator-ann'));
    PERFORM api.transition_event(tests.id('t3'), 'failed', 'stuck', p_now => tests.at(2033), p_key => tests.key('operator-ann'));
END $setup$;
SELECT is((SELECT (e.status, e.lease_token IS NULL, e.changed_by)::text FROM ledger.events e WHERE e.id = tests.id('t3')),
          '(failed,t,operator-ann)',
    'after the rescue, another principal claims the event through api.transition_event and fails it, ending its own lease');

-- A token whose lease was rescued is refused by api.transition_event too.
DO $setup$ BEGIN PERFORM tests.submitted('t4'); END $setup$;
DO $setup$ BEGIN
    PERFORM tests.claim('t4', 'events', 'worker-1', 2000);
    PERFORM api.rescue_expired_leases(p_now => tests.at(2031));
END $setup$;
SELECT throws_ok($$SELECT api.transition_event(tests.id('t4'), 'processing', p_now => tests.at(2032),
                                               p_lease_token => tests.token('t4', 1), p_key => tests.key('worker-1'))$$,
                 'AL009', NULL,
    'api.transition_event refuses (AL009) the token of a rescued lease, even for a move the event could make');

SELECT * FROM finish();
ROLLBACK;
