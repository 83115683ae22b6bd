-- "Already done" is the answer to a report sent again, and to nothing else; a kept lease is the
-- action's first attempt. Each case is a report that once looked done but was never applied.
BEGIN;
SELECT plan(15);

CREATE SCHEMA tests;
INSERT INTO ledger.event_types (name, max_attempts) VALUES ('tests_answers', 5), ('tests_once', 1);
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2030-01-01 00:00:00+00'::timestamptz + p_seconds * interval '1 second';
-- The session's login acts for dba; the workers A and B and a runner are agents with worker keys.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT n, api.create_api_key((api.create_principal(n, 'agent')).name, 'worker')
  FROM unnest('{worker-a,worker-b,runner}'::text[]) n;
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);
CREATE TABLE tests.held (name text PRIMARY KEY, id bigint, token uuid);
-- Submit and claim one event of p_type as the principal p_worker; remember it as p_name.
CREATE FUNCTION tests.hold(p_name text, p_type text, p_worker text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := (api.submit_event('cust-answers', p_type, '{}', p_now => tests.at(0))).id;
BEGIN
    INSERT INTO tests.held SELECT p_name, c.id, c.lease_token
      FROM api.claim_events(p_worker, 1, ARRAY[p_type], tests.at(0), tests.key(p_worker)) c WHERE c.id = v_id;
END
$$;
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT h.id FROM tests.held h WHERE h.name = p_name);
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT h.token FROM tests.held h WHERE h.name = p_name);

-- h1: handed off by its decider (A), then claimed for its action by B.
DO $$ BEGIN
    PERFORM tests.hold('h1', 'tests_answers', 'worker-a');
    PERFORM api.decide_events(ARRAY[tests.id('h1')], ARRAY[tests.token('h1')], '{approved}',
                              p_keep_lease => false, p_now => tests.at(1), p_key => tests.key('worker-a'));
    PERFORM api.claim_actions('worker-b', 1, '{tests_answers}', tests.at(2), tests.key('worker-b'));
END $$;
SELECT is((SELECT (r.outcome, r.code)::text FROM api.complete_events(ARRAY[tests.id('h1')], ARRAY[tests.token('h1')],
                                                                     p_now => tests.at(3), p_key => tests.key('worker-a')) r),
          ('refused', 'AL009')::text,
    'a completion with the token of a decision handed off is refused (AL009), not taken for a retry');
SELECT is((SELECT (r.outcome, r.code)::text FROM api.fail_events(ARRAY[tests.id('h1')], ARRAY[tests.token('h1')],
                                                                 '{boom}', p_now => tests.at(3), p_key => tests.key('worker-a')) r),
          ('refused', 'AL009')::text,
    'so is a failure with it: B''s action is not silently dropped');
SELECT is((SELECT e.status::text || '/' || e.lease_owner FROM ledger.events e WHERE e.id = tests.id('h1')),
          'approved/worker-b', 'and the event is still B''s to finish');

-- h2: released by A, then A (wrongly) decides with the same token.
DO $$ BEGIN
    PERFORM tests.hold('h2', 'tests_answers', 'worker-a');
    PERFORM api.release_events(ARRAY[tests.id('h2')], ARRAY[tests.token('h2')], p_now => tests.at(1), p_key => tests.key('worker-a'));
END $$;
SELECT is((SELECT (r.outcome, r.code)::text FROM api.decide_events(ARRAY[tests.id('h2')], ARRAY[tests.token('h2')],
                                                                   '{approved}', p_now => tests.at(2), p_key => tests.key('worker-a')) r),
          ('refused', 'AL009')::text,
    'a decision after the lease was released is refused: only the same step sent again is already done');

-- h3: a type with one attempt; the decider keeps the lease and its action fails.
DO $$ BEGIN
    PERFORM tests.hold('h3', 'tests_once', 'worker-a');
    PERFORM api.decide_events(ARRAY[tests.id('h3')], ARRAY[tests.token('h3')], '{approved}', p_now => tests.at(1), p_key => tests.key('worker-a'));
END $$;
SELECT is((SELECT e.attempts FROM ledger.events e WHERE e.id = tests.id('h3')), 1,
    'a decision that keeps the lease counts the action''s first attempt');
SELECT is((SELECT r.status::text FROM api.fail_events(ARRAY[tests.id('h3')], ARRAY[tests.token('h3')], '{boom}',
                                                      p_now => tests.at(2), p_key => tests.key('worker-a')) r),
          'failed',
    'so with max_attempts 1 a failed action is final: it never runs more often than max_attempts');

-- h4: a repeat with other content is not the same report.
DO $$ BEGIN
    PERFORM tests.hold('h4', 'tests_answers', 'worker-a');
    PERFORM api.decide_events(ARRAY[tests.id('h4')], ARRAY[tests.token('h4')], '{approved}', p_now => tests.at(1), p_key => tests.key('worker-a'));
END $$;
SELECT is((SELECT (r.outcome, r.code, r.status)::text FROM api.decide_events(ARRAY[tests.id('h4')], ARRAY[tests.token('h4')],
                                                                             '{rejected}', p_now => tests.at(2), p_key => tests.key('worker-a')) r),
          ('refused', 'AL003', 'approved')::text,
    'the same token with another decision is refused (AL003) and says what was decided: only the same report is already done');
DO $$ BEGIN
    PERFORM api.fail_events(ARRAY[tests.id('h4')], ARRAY[tests.token('h4')], '{"bank API down"}', p_now => tests.at(3), p_key => tests.key('worker-a'));
END $$;
SELECT is((SELECT r.outcome FROM api.fail_events(ARRAY[tests.id('h4')], ARRAY[tests.token('h4')], '{"bank API down"}',
                                                 p_now => tests.at(4), p_key => tests.key('worker-a')) r),
          'already_done', 'a failure reported again as it was is already done');
SELECT is((SELECT r.code FROM api.fail_events(ARRAY[tests.id('h4')], ARRAY[tests.token('h4')], '{"bank API down"}',
                                              NULL, '{false}', p_now => tests.at(4), p_key => tests.key('worker-a')) r),
          'AL003', 'but not when it now says the failure is final: that was not what was applied');

-- h5: a person gives a claimed event back at its last attempt; it must stay claimable.
DO $$ BEGIN
    PERFORM tests.hold('h5', 'tests_once', 'worker-a');
    PERFORM api.transition_event(tests.id('h5'), 'queued', 'shutting down', p_now => tests.at(1),
                                 p_lease_token => tests.token('h5'), p_key => tests.key('worker-a'));
END $$;
SELECT is((SELECT count(*)::integer FROM api.claim_events('worker-b', 5, '{tests_once}', tests.at(2), tests.key('worker-b')) c
            WHERE c.id = tests.id('h5')), 1,
    'an event given back through api.transition_event gets its attempt back and can be claimed again');

-- h6: a DBA decides by hand at the last attempt; the action must still be offered.
DO $$ BEGIN PERFORM tests.hold('h6', 'tests_once', 'worker-a'); END $$;
UPDATE ledger.events SET status = 'approved', change_reason = 'decided by hand', lease_owner = NULL, lease_token = NULL,
       lease_expires_at = NULL, lease_fenced = false
 WHERE id = tests.id('h6');
SELECT is((SELECT count(*)::integer FROM api.claim_actions('runner', 5, '{tests_once}', tests.at(2), tests.key('runner')) c
            WHERE c.id = tests.id('h6')), 1,
    'a raw decision starts the action''s attempts at 0, so its action is offered');

SELECT ok((api.queue_stats(tests.at(0)) ->> 'leases_expired')::integer = 0
          AND (api.queue_stats(tests.at(100000)) ->> 'leases_expired')::integer
              = (SELECT count(*) FROM ledger.events e WHERE e.lease_token IS NOT NULL),
    'api.queue_stats counts the leases that have expired (none yet at claim time, every held one a day later)');

-- Inputs that once gave internal errors.
UPDATE ledger.settings SET retry_base_delay = '12 hours', retry_max_delay = '30 days';
SELECT is(ledger._retry_delay(40), interval '30 days', 'the back-off of a late attempt is capped, never an interval overflow');
SELECT throws_ok($$SELECT * FROM api.heartbeat_events('{{1,2},{3,4}}'::bigint[], '{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12},{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14}}'::uuid[])$$,
    'AL021', NULL, 'a report refuses nested arrays (AL021)');
SELECT throws_ok($$SELECT * FROM api.claim_events('w', 1, '{{a},{b}}'::text[])$$, 'AL021', NULL,
    'a claim refuses a nested type list (AL021)');

SELECT * FROM finish();
ROLLBACK;
