-- Reports of the worker protocol: api.decide_events, complete_events, fail_events, release_events
-- and heartbeat_events. Each answers per event, in the order the events were named (done,
-- already_done, refused with a code); the same batch sent again answers already_done and writes no
-- second audit row; what each report does to the event and its lease; and the argument checks every
-- report shares (AL021, AL013, AL008).
BEGIN;
SELECT plan(57);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;

-- The fixture clock: every call gets p_now => tests.at(seconds after 08:00).
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-05-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';

-- Who acts: the session's login (a DBA), an intake service and worker agents, each worker with a
-- key of its own name; a batch report acts as one principal, on the leases that principal holds.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT n, api.create_api_key((api.create_principal(n, 'agent')).name, 'worker')
  FROM unnest('{worker-1,runner-1}'::text[]) n;
INSERT INTO tests.keys
SELECT 'tests-intake', api.create_api_key((api.create_principal('tests-intake', 'service')).name, 'submitter');
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Events by fixture name; ids are never predictable.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL UNIQUE);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);

-- Every claim returned, under the label of the call that made it.
CREATE TABLE tests.claims (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL,
                           c api.claim NOT NULL);
-- The lease token of the latest claim of event p_name.
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT (c.c).lease_token FROM tests.claims c WHERE (c.c).id = tests.id(p_name)
         ORDER BY c.seq DESC LIMIT 1);

-- A fresh event p_name, submitted and claimed by p_worker at p_now. Each fixture has an event type
-- of its own ('tests_' || p_name), so claims by type take exactly the fixture meant.
CREATE FUNCTION tests.claimed(p_name text, p_worker text, p_now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.event_types (name, description) VALUES ('tests_' || p_name, 'fixture ' || p_name);
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event('tests-reports', 'tests_' || p_name, '{}', p_now => p_now,
                                     p_key => tests.key('tests-intake'))).id;
    INSERT INTO tests.claims (label, c)
    SELECT 'claim ' || p_name, r FROM api.claim_events(p_worker, 1, ARRAY['tests_' || p_name], p_now,
                                                       tests.key(p_worker)) r;
    IF tests.token(p_name) IS NULL THEN
        RAISE EXCEPTION 'fixture %: the claim took nothing', p_name;
    END IF;
END
$$;

-- api.claim_actions for the fixture p_name alone; answers the names of what it claimed.
CREATE FUNCTION tests.claim_action(p_label text, p_name text, p_worker text, p_now timestamptz) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tests.claims (label, c)
    SELECT p_label, r FROM api.claim_actions(p_worker, 10, ARRAY['tests_' || p_name], p_now, tests.key(p_worker)) r;
    RETURN coalesce((SELECT array_agg(f.name ORDER BY c.seq) FROM tests.claims c
                       JOIN tests.fx f ON f.id = (c.c).id WHERE c.label = p_label), '{}');
END
$$;

-- Every report answer, under the label of the call, in the order answered.
CREATE TABLE tests.reports (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL,
                            r api.report NOT NULL);
-- Runs the report p_call (an api.*_events(...) call), keeps its answer under p_label and returns the
-- outcome of each event in order: 'done', 'already_done', or 'refused' followed by the code.
CREATE FUNCTION tests.report(p_label text, p_call text) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO tests.reports (label, r) SELECT %L, r FROM %s r', p_label, p_call);
    RETURN coalesce((SELECT array_agg(concat_ws(' ', (t.r).outcome, (t.r).code) ORDER BY t.seq)
                       FROM tests.reports t WHERE t.label = p_label), '{}');
END
$$;

CREATE FUNCTION tests.audit_rows(p_name text) RETURNS integer LANGUAGE sql STABLE
RETURN (SELECT count(*)::integer FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name));

-- The latest audit row of event p_name: from, to, actor, actor kind, reason, details, attempt.
CREATE FUNCTION tests.last_audit(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(a.from_status, a.to_status, a.actor, a.actor_kind, a.reason, a.details, a.attempt)::text
          FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name) ORDER BY a.seq DESC LIMIT 1);

-- The event p_name as a report leaves it: status, attempts, run_after, lease owner, whether it holds
-- the token of its latest claim, lease expiry, fenced, version.
CREATE FUNCTION tests.state(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(e.status, e.attempts, e.run_after, e.lease_owner, e.lease_token = tests.token(p_name),
                   e.lease_expires_at, e.lease_fenced, e.version)::text
          FROM ledger.events e WHERE e.id = tests.id(p_name));

-- Leases of 45 seconds: a claim at 0 s holds until 45 s.
UPDATE ledger.settings SET lease_duration = '45 seconds';

DO $setup$ BEGIN
    PERFORM tests.claimed('d1', 'worker-1', tests.at(0));
    PERFORM tests.claimed('d2', 'worker-1', tests.at(0));
    PERFORM tests.claimed('d3', 'worker-1', tests.at(0));
    PERFORM tests.claimed('k1', 'worker-1', tests.at(0));
    PERFORM tests.claimed('c1', 'worker-1', tests.at(0));
    PERFORM tests.claimed('f1', 'worker-1', tests.at(0));
    PERFORM tests.claimed('r1', 'worker-1', tests.at(0));
    PERFORM tests.claimed('r2', 'worker-1', tests.at(0));
    PERFORM tests.claimed('h1', 'worker-1', tests.at(0));
END $setup$;

-- api.decide_events ---------------------------------------------------------------------------------
SELECT is(tests.report('decide-1', $$api.decide_events(
              ARRAY[tests.id('d2'), -1, tests.id('d1')], ARRAY[tests.token('d2'), gen_random_uuid(), tests.token('d1')],
              '{approved,approved,rejected}', '{"fits the policy",NULL,"too risky"}',
              ARRAY['{"score": 0.9}', NULL, '{"score": 0.2}']::jsonb[], p_now => tests.at(10), p_key => tests.key('worker-1'))$$),
          '{done,"refused AL001",done}',
    'decide_events answers each event in the order named: done for each it decided, refused AL001 for an id that names no event');
SELECT results_eq(
    $$SELECT (t.r).event_id, (t.r).status, (t.r).message IS NULL, (t.r).lease_expires_at, (t.r).run_after
        FROM tests.reports t WHERE t.label = 'decide-1' ORDER BY t.seq$$,
    $$VALUES (tests.id('d2'), 'approved'::ledger.event_status, true, tests.at(55), NULL::timestamptz),
             (-1, NULL, false, NULL, NULL),
             (tests.id('d1'), 'rejected', true, tests.at(55), NULL)$$,
    'a done decision answers the new status and the lease the decider keeps (until p_now + lease_duration); a refusal has no status and says why');
SELECT results_eq(
    $$SELECT e.id, e.status, e.result, e.attempts, e.lease_owner, e.lease_token = tests.token(f.name),
             e.lease_fenced, e.changed_by, e.version
        FROM ledger.events e JOIN tests.fx f ON f.id = e.id WHERE f.name IN ('d1', 'd2') ORDER BY f.name$$,
    $$VALUES (tests.id('d1'), 'rejected'::ledger.event_status, '{"score": 0.2}'::jsonb, 1, 'worker-1'::text, true, true, 'worker-1'::text, 3),
             (tests.id('d2'), 'approved', '{"score": 0.9}', 1, 'worker-1', true, true, 'worker-1', 3)$$,
    'a decision sets status and result and, by default (p_keep_lease), leaves the decider its fenced lease and token to run the action: its first attempt at it (attempts 1)');
SELECT is(tests.last_audit('d1'),
          ROW('processing'::ledger.event_status, 'rejected'::ledger.event_status, 'worker-1', 'agent'::ledger.actor_kind,
              'too risky', '{"result": {"score": 0.2}}'::jsonb, 1)::text,
    'the audit row of a decision names the lease owner as an agent, with the reason and the result');

SELECT tests.audit_rows('d1') + tests.audit_rows('d2') AS decide_audit_before \gset
SELECT is(tests.report('decide-2', $$api.decide_events(
              ARRAY[tests.id('d2'), -1, tests.id('d1')], ARRAY[tests.token('d2'), gen_random_uuid(), tests.token('d1')],
              '{approved,approved,rejected}', '{"fits the policy",NULL,"too risky"}',
              ARRAY['{"score": 0.9}', NULL, '{"score": 0.2}']::jsonb[], p_now => tests.at(11), p_key => tests.key('worker-1'))$$),
          '{already_done,"refused AL001",already_done}',
    'the same decide batch sent again answers already_done for each event it decided the first time');
SELECT is(tests.audit_rows('d1') + tests.audit_rows('d2'), :decide_audit_before,
    'the same decide batch sent again writes no second audit row');
SELECT is((SELECT array_agg(e.version ORDER BY e.id) FROM ledger.events e WHERE e.id IN (tests.id('d1'), tests.id('d2'))),
          '{3,3}'::integer[],
    'the same decide batch sent again leaves the events as the first one left them');

SELECT is(tests.report('decide-3', $$api.decide_events(
              ARRAY[tests.id('d3'), tests.id('d1'), -1], ARRAY[tests.token('d3'), tests.token('d1'), gen_random_uuid()],
              '{approved,rejected,approved}', '{NULL,"too risky",NULL}',
              ARRAY[NULL, '{"score": 0.2}', NULL]::jsonb[], p_now => tests.at(20), p_key => tests.key('worker-1'))$$),
          '{done,already_done,"refused AL001"}',
    'one batch answers done, already_done and refused side by side, each in the position its event was named');

-- p_keep_lease false: the lease ends and the action goes to the action queue.
SELECT is(tests.report('decide-k1', $$api.decide_events(ARRAY[tests.id('k1')], ARRAY[tests.token('k1')],
              '{approved}', p_keep_lease => false, p_now => tests.at(10), p_key => tests.key('worker-1'))$$),
          '{done}',
    'decide_events with p_keep_lease false decides the event');
SELECT is((SELECT (e.status, e.lease_owner, e.lease_token, e.lease_expires_at, e.lease_fenced)::text
             FROM ledger.events e WHERE e.id = tests.id('k1')),
          '(approved,,,,f)',
    'with p_keep_lease false the decided event holds no lease');
SELECT results_eq(
    $$SELECT (t.r).status, (t.r).lease_expires_at, (t.r).run_after FROM tests.reports t WHERE t.label = 'decide-k1'$$,
    $$VALUES ('approved'::ledger.event_status, NULL::timestamptz, tests.at(0))$$,
    'a handed-off decision answers no lease and the run_after from which its action may run');
SELECT is(tests.claim_action('k1-action', 'k1', 'runner-1', tests.at(10)), '{k1}',
    'with p_keep_lease false the action is offered to api.claim_actions at once');

-- api.complete_events -------------------------------------------------------------------------------
-- p_keep_lease true: the decider completes with the token it claimed with.
SELECT is(tests.report('complete-d1', $$api.complete_events(ARRAY[tests.id('d1')], ARRAY[tests.token('d1')],
              ARRAY['{"letter_id": "L-7"}']::jsonb[], p_now => tests.at(30), p_key => tests.key('worker-1'))$$),
          '{done}',
    'a decider that kept its lease completes the action with the token it claimed the event with');
SELECT is(tests.last_audit('d1'),
          ROW('rejected'::ledger.event_status, 'completed'::ledger.event_status, 'worker-1', 'agent'::ledger.actor_kind,
              NULL::text, '{"letter_id": "L-7"}'::jsonb, 1)::text,
    'the audit row of a completion names the lease owner and carries the details of what the action did');
SELECT is(tests.state('d1'),
          ROW('completed'::ledger.event_status, 1, tests.at(0), NULL::text, NULL::boolean, NULL::timestamptz, false, 4)::text,
    'a completed event holds no lease');
SELECT tests.audit_rows('d1') AS complete_audit_before \gset
SELECT is(tests.report('complete-d1-again', $$api.complete_events(ARRAY[tests.id('d1')], ARRAY[tests.token('d1')],
              ARRAY['{"letter_id": "L-7"}']::jsonb[], p_now => tests.at(31), p_key => tests.key('worker-1'))$$),
          '{already_done}',
    'the same complete batch sent again answers already_done');
SELECT is(tests.audit_rows('d1'), :complete_audit_before,
    'the same complete batch sent again writes no second audit row');

SELECT is(tests.report('complete-c1', $$api.complete_events(ARRAY[tests.id('c1'), -1],
              ARRAY[tests.token('c1'), gen_random_uuid()], p_now => tests.at(10), p_key => tests.key('worker-1'))$$),
          '{"refused AL003","refused AL001"}',
    'complete_events refuses an event still in processing with AL003 (only a decided event completes) and an unknown id with AL001');
SELECT results_eq(
    $$SELECT (t.r).status, (t.r).lease_expires_at FROM tests.reports t WHERE t.label = 'complete-c1' ORDER BY t.seq$$,
    $$VALUES ('processing'::ledger.event_status, tests.at(45)), (NULL, NULL)$$,
    'a refusal for the wrong status answers the status the event is in and the lease the caller still holds');
SELECT is(tests.state('c1'),
          ROW('processing'::ledger.event_status, 1, tests.at(0), 'worker-1', true, tests.at(45), true, 2)::text,
    'a refused completion leaves the event as it was');
SELECT throws_ok($$SELECT api.complete_events(ARRAY[tests.id('d2')], ARRAY[tests.token('d2')],
                       ARRAY['"sent"']::jsonb[], tests.at(30))$$, 'AL021', NULL,
    'complete_events refuses details that are not a JSON object (AL021)');
SELECT throws_ok($$SELECT api.complete_events(ARRAY[tests.id('d2')], ARRAY[tests.token('d2')],
                       ARRAY['{"result": {"score": 1}}']::jsonb[], tests.at(30))$$, 'AL021', NULL,
    'complete_events refuses details carrying a "result" key (AL021): the result was recorded by the decision');

-- api.fail_events -----------------------------------------------------------------------------------
SELECT is(tests.report('fail-f1', $$api.fail_events(ARRAY[tests.id('f1')], ARRAY[tests.token('f1')],
              '{"model timed out"}', '{Timeout}', p_now => tests.at(10), p_key => tests.key('worker-1'))$$),
          '{done}',
    'fail_events records a failed attempt');
SELECT tests.audit_rows('f1') AS fail_audit_before \gset
SELECT is(tests.report('fail-f1-again', $$api.fail_events(ARRAY[tests.id('f1')], ARRAY[tests.token('f1')],
              '{"model timed out"}', '{Timeout}', p_now => tests.at(11), p_key => tests.key('worker-1'))$$),
          '{already_done}',
    'the same fail batch sent again answers already_done');
SELECT is(tests.audit_rows('f1'), :fail_audit_before,
    'the same fail batch sent again writes no second audit row');
SELECT throws_ok($$SELECT api.fail_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], NULL, p_now => tests.at(10))$$,
                 'AL008', NULL,
    'fail_events refuses a report without error texts (AL008)');
SELECT throws_ok($$SELECT api.fail_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], '{"  "}', p_now => tests.at(10))$$,
                 'AL008', NULL,
    'fail_events refuses a blank error text (AL008): each failure needs its error');
SELECT throws_ok($$SELECT api.fail_events(ARRAY[tests.id('c1'), tests.id('f1')], ARRAY[tests.token('c1'), tests.token('f1')],
                       ARRAY['timeout', NULL], p_now => tests.at(10))$$,
                 'AL008', NULL,
    'fail_events refuses a batch in which one failure has no error text (AL008)');

-- api.release_events --------------------------------------------------------------------------------
-- r1 in processing goes back to queued; r2, decided with its lease kept, back to the action queue.
SELECT is(tests.report('release-r1', $$api.release_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1')],
              p_now => tests.at(30), p_key => tests.key('worker-1'))$$),
          '{done}',
    'release_events gives back an event in processing');
SELECT is(tests.state('r1'),
          ROW('queued'::ledger.event_status, 0, tests.at(30), NULL::text, NULL::boolean, NULL::timestamptz, false, 3)::text,
    'a released event is queued without a lease, its attempt returned (attempts - 1) and runnable from p_now');
SELECT is(tests.last_audit('r1'),
          ROW('processing'::ledger.event_status, 'queued'::ledger.event_status, 'worker-1', 'agent'::ledger.actor_kind,
              'released', NULL::jsonb, 0)::text,
    'a release writes one audit row by the lease owner, with reason "released" when none is given');
SELECT is((SELECT (t.r).run_after FROM tests.reports t WHERE t.label = 'release-r1'), tests.at(30),
    'a release answers when the event may run again');
SELECT tests.audit_rows('r1') AS release_audit_before \gset
SELECT is(tests.report('release-r1-again', $$api.release_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1')],
              p_now => tests.at(31), p_key => tests.key('worker-1'))$$),
          '{already_done}',
    'the same release batch sent again answers already_done');
SELECT is(tests.audit_rows('r1'), :release_audit_before,
    'the same release batch sent again writes no second audit row');
SELECT is((SELECT (e.attempts, e.run_after)::text FROM ledger.events e WHERE e.id = tests.id('r1')),
          ROW(0, tests.at(30))::text,
    'the same release sent again returns no second attempt and leaves run_after as the first release set it');

DO $setup$ BEGIN
    PERFORM api.decide_events(ARRAY[tests.id('r2')], ARRAY[tests.token('r2')], '{approved}', p_now => tests.at(5),
                              p_key => tests.key('worker-1'));
END $setup$;
SELECT tests.audit_rows('r2') AS release_r2_audit_before \gset
SELECT is(tests.report('release-r2', $$api.release_events(ARRAY[tests.id('r2')], ARRAY[tests.token('r2')],
              'shutting down', tests.at(30), p_key => tests.key('worker-1'))$$),
          '{done}',
    'release_events gives back a decided event whose lease the decider kept');
SELECT is(tests.state('r2'),
          ROW('approved'::ledger.event_status, 0, tests.at(30), NULL::text, NULL::boolean, NULL::timestamptz, false, 3)::text,
    'a released decided event keeps its status, holds no lease and is runnable from p_now');
SELECT is(tests.audit_rows('r2'), :release_r2_audit_before,
    'releasing a decided event writes no audit row: its status does not change');
SELECT is(tests.claim_action('r2-action', 'r2', 'runner-1', tests.at(30)), '{r2}',
    'a released decided event is offered to api.claim_actions');

-- api.heartbeat_events ------------------------------------------------------------------------------
SELECT tests.audit_rows('h1') AS heartbeat_audit_before \gset
SELECT is(tests.report('heartbeat-h1', $$api.heartbeat_events(ARRAY[tests.id('h1')], ARRAY[tests.token('h1')],
              tests.at(20), p_key => tests.key('worker-1'))$$),
          '{done}',
    'heartbeat_events renews a lease named by its token');
SELECT is((SELECT e.lease_expires_at FROM ledger.events e WHERE e.id = tests.id('h1')), tests.at(65),
    'a heartbeat moves lease_expires_at to p_now + lease_duration');
SELECT results_eq(
    $$SELECT (t.r).status, (t.r).lease_expires_at FROM tests.reports t WHERE t.label = 'heartbeat-h1'$$,
    $$VALUES ('processing'::ledger.event_status, tests.at(65))$$,
    'a heartbeat answers the new end of the lease');
SELECT is(tests.audit_rows('h1'), :heartbeat_audit_before,
    'a heartbeat writes no audit row');
SELECT is(tests.report('heartbeat-ended', $$api.heartbeat_events(ARRAY[tests.id('d1'), -1],
              ARRAY[tests.token('d1'), gen_random_uuid()], tests.at(40), p_key => tests.key('worker-1'))$$),
          '{"refused AL009","refused AL001"}',
    'a heartbeat for a lease that ended with a report is refused with AL009, never answered already_done; an unknown id with AL001');

-- Arguments every report checks ---------------------------------------------------------------------
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1'), tests.id('h1')], ARRAY[tests.token('c1')],
                       '{approved,approved}', p_now => tests.at(40))$$, 'AL021', NULL,
    'a report whose event ids and lease tokens differ in length is refused (AL021)');
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1'), tests.id('h1')], ARRAY[tests.token('c1'), tests.token('h1')],
                       '{approved}', p_now => tests.at(40))$$, 'AL021', NULL,
    'a report with fewer decisions than events is refused (AL021)');
SELECT throws_ok($$SELECT api.heartbeat_events(ARRAY[tests.id('c1'), NULL], ARRAY[tests.token('c1'), tests.token('h1')],
                       tests.at(40))$$, 'AL021', NULL,
    'a report naming a NULL event id is refused (AL021)');
SELECT throws_ok($$SELECT api.release_events(ARRAY[tests.id('c1')], ARRAY[NULL]::uuid[], p_now => tests.at(40))$$,
                 'AL021', NULL,
    'a report with a NULL lease token is refused (AL021)');
SELECT throws_ok($$SELECT api.fail_events(ARRAY[tests.id('c1'), tests.id('c1')], ARRAY[tests.token('c1'), tests.token('c1')],
                       '{a,b}', p_now => tests.at(40))$$, 'AL021', NULL,
    'a report naming the same event twice is refused (AL021)');
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], '{maybe}', p_now => tests.at(40))$$,
                 'AL020', NULL,
    'a decision other than approved or rejected is refused (AL020)');
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], ARRAY[NULL]::text[],
                       p_now => tests.at(40))$$, 'AL020', NULL,
    'a NULL decision is refused (AL020)');
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], '{approved}',
                       p_keep_lease => NULL, p_now => tests.at(40))$$, 'AL020', NULL,
    'a decision with p_keep_lease NULL is refused (AL020): the lease is either kept or ended');
SELECT throws_ok($$SELECT api.decide_events(ARRAY[tests.id('c1')], ARRAY[tests.token('c1')], '{approved}', NULL,
                       ARRAY['[0.9]']::jsonb[], p_now => tests.at(40))$$, 'AL021', NULL,
    'a decision result that is not a JSON object is refused (AL021)');
SELECT is(tests.state('c1'),
          ROW('processing'::ledger.event_status, 1, tests.at(0), 'worker-1', true, tests.at(45), true, 2)::text,
    'refused reports leave the event they named as it was');

UPDATE ledger.settings SET max_batch_size = 3;
SELECT throws_ok($$SELECT api.heartbeat_events(ARRAY[1, 2, 3, 4]::bigint[],
                       ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], tests.at(40))$$,
                 'AL013', NULL,
    'a report naming more events than ledger.settings.max_batch_size is refused (AL013)');
SELECT throws_ok($$SELECT api.complete_events(ARRAY[1, 2, 3, 4]::bigint[],
                       ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], p_now => tests.at(40))$$,
                 'AL013', NULL,
    'a completion batch larger than max_batch_size is refused (AL013), like every report');
SELECT lives_ok($$SELECT api.heartbeat_events(ARRAY[1, 2, 3]::bigint[],
                      ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid()], tests.at(40))$$,
    'a report of exactly max_batch_size events is accepted');

SELECT * FROM finish();
ROLLBACK;
