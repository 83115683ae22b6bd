-- Claims of the worker protocol. api.claim_events: which queued events a claim takes (order,
-- run_after, p_limit, types, attempts left), what it does to each (processing, one attempt, a fresh
-- fenced lease of ledger.settings.lease_duration, one audit row) and which arguments it refuses.
-- api.claim_actions: which decided events it offers (no live lease, run_after passed), what it
-- returns (the decision's result and reason) and that it counts an attempt without an audit row.
BEGIN;
SELECT plan(46);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;

-- The fixture clock: every call gets p_now => tests.at(seconds after 08:00).
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-05-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';

-- Who acts: the session's login for a DBA; each worker process is an agent principal with a
-- worker key of its own name, the intake a service with a submitter key.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT n, api.create_api_key((api.create_principal(n, 'agent')).name, 'worker')
  FROM unnest('{worker-1,worker-2,worker-3,decider-1,decider-2,runner-1,runner-2,runner-3}'::text[]) n;
INSERT INTO tests.keys
SELECT 'tests-intake', api.create_api_key((api.create_principal('tests-intake', 'service')).name, 'submitter');
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Events by fixture name; ids are never predictable.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL UNIQUE);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);
CREATE FUNCTION tests.ids(p_names text[]) RETURNS bigint[] LANGUAGE sql STABLE
RETURN (SELECT array_agg(f.id ORDER BY f.id) FROM tests.fx f WHERE f.name = ANY (p_names));

-- Submits the event p_name at tests.at(0).
CREATE FUNCTION tests.submit(p_name text, p_type text, p_priority integer DEFAULT 0,
                             p_run_after timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event('tests-claims', p_type, jsonb_build_object('fixture', p_name),
                                     p_priority, p_run_after, p_now => tests.at(0),
                                     p_key => tests.key('tests-intake'))).id
    RETURNING id
$$;

-- Every claim returned, under the label of the call that made it, in the order it was returned.
CREATE TABLE tests.claims (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label text NOT NULL,
    c api.claim NOT NULL
);

-- The fixture names of the claims made under p_label, in the order returned.
CREATE FUNCTION tests.claimed_names(p_label text) RETURNS text[] LANGUAGE sql STABLE
RETURN coalesce((SELECT array_agg(coalesce(f.name, 'unknown event ' || (c.c).id) ORDER BY c.seq)
                   FROM tests.claims c LEFT JOIN tests.fx f ON f.id = (c.c).id
                  WHERE c.label = p_label), '{}');

-- api.claim_events / api.claim_actions with the key of the principal p_worker, the instance label
-- too, keeping what they return under p_label; answers the names.
CREATE FUNCTION tests.claim_events(p_label text, p_worker text, p_limit integer, p_types text[],
                                   p_now timestamptz) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tests.claims (label, c)
    SELECT p_label, r FROM api.claim_events(p_worker, p_limit, p_types, p_now, tests.key(p_worker)) r;
    RETURN tests.claimed_names(p_label);
END
$$;
CREATE FUNCTION tests.claim_actions(p_label text, p_worker text, p_limit integer, p_types text[],
                                    p_now timestamptz) RETURNS text[]
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tests.claims (label, c)
    SELECT p_label, r FROM api.claim_actions(p_worker, p_limit, p_types, p_now, tests.key(p_worker)) r;
    RETURN tests.claimed_names(p_label);
END
$$;

-- The lease token the latest claim of event p_name returned.
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT (c.c).lease_token FROM tests.claims c WHERE (c.c).id = tests.id(p_name)
         ORDER BY c.seq DESC LIMIT 1);
CREATE FUNCTION tests.tokens(p_names text[]) RETURNS uuid[] LANGUAGE sql STABLE
RETURN (SELECT array_agg(tests.token(f.name) ORDER BY f.id) FROM tests.fx f WHERE f.name = ANY (p_names));

CREATE FUNCTION tests.audit_rows(p_names text[]) RETURNS integer LANGUAGE sql STABLE
RETURN (SELECT count(*)::integer FROM ledger.audit_log a WHERE a.event_id = ANY (tests.ids(p_names)));

-- A lease of 90 seconds (not the default 30) shows the claim reads the setting; a one-minute
-- back-off gives action retries a run_after to wait for.
UPDATE ledger.settings SET lease_duration = '90 seconds', retry_base_delay = '1 minute';

INSERT INTO ledger.event_types (name, description, max_attempts) VALUES
    ('tests_order', 'claim order and limit', 5),
    ('tests_later', 'run_after', 5),
    ('tests_pick_a', 'type filter', 5),
    ('tests_pick_b', 'type filter', 5),
    ('tests_once', 'one attempt only', 1),
    ('tests_action', 'the action queue', 5),
    ('tests_action_retry', 'an action retried later', 5);

-- api.claim_events: order and limit -----------------------------------------------------------------
DO $setup$ BEGIN PERFORM tests.submit('o1', 'tests_order', 0), tests.submit('o2', 'tests_order', 5),
                         tests.submit('o3', 'tests_order', 0), tests.submit('o4', 'tests_order', 5),
                         tests.submit('o5', 'tests_order', -1); END $setup$;

SELECT is(tests.claim_events('order-1', 'worker-1', 3, '{tests_order}', tests.at(0)), '{o2,o4,o1}',
    'claim_events takes the highest priority first, the lowest id first within a priority, and no more than p_limit events');
SELECT is(tests.claim_events('order-2', 'worker-2', 10, '{tests_order}', tests.at(0)), '{o3,o5}',
    'a second claim takes what is left, in the same order, and never an event already processing');
SELECT is(tests.claim_events('order-3', 'worker-2', 10, '{tests_order}', tests.at(0)), '{}',
    'a claim finds nothing once every queued event is processing');

-- What a claim does to each event.
SELECT is((SELECT count(DISTINCT (c.c).lease_token) FROM tests.claims c WHERE c.label IN ('order-1', 'order-2')),
          5::bigint,
    'each claimed event gets its own lease token, none of them NULL');
SELECT results_eq(
    $$SELECT (c.c).id, (c.c).status, (c.c).attempts, (c.c).lease_expires_at, (c.c).decision_reason
        FROM tests.claims c WHERE c.label = 'order-1' ORDER BY c.seq$$,
    $$SELECT tests.id(n), 'processing'::ledger.event_status, 1, tests.at(90), NULL::text
        FROM unnest('{o2,o4,o1}'::text[]) WITH ORDINALITY u (n, i) ORDER BY i$$,
    'claim_events returns each claim in processing at attempt 1, its lease ending at p_now + lease_duration');
SELECT results_eq(
    $$SELECT e.id, e.status, e.attempts, e.lease_owner, e.lease_token = tests.token(f.name),
             e.lease_expires_at, e.lease_fenced, e.changed_by, e.changed_by_kind, e.version
        FROM ledger.events e JOIN tests.fx f ON f.id = e.id
       WHERE f.name IN ('o1', 'o2', 'o4') ORDER BY e.id$$,
    $$SELECT tests.id(n), 'processing'::ledger.event_status, 1, 'worker-1'::text, true, tests.at(90),
             true, 'worker-1'::text, 'agent'::ledger.actor_kind, 2
        FROM unnest('{o1,o2,o4}'::text[]) n ORDER BY 1$$,
    'a claimed event is processing at attempt 1 under a fenced lease of the worker''s principal with the returned token, until p_now + lease_duration, changed by it as an agent');
SELECT results_eq(
    $$SELECT a.event_id, a.from_status, a.to_status, a.actor, a.actor_kind, a.api_key, a.details, a.attempt, a.version
        FROM ledger.audit_log a WHERE a.event_id = ANY (tests.ids('{o1,o2,o3,o4,o5}')) AND a.version > 1
       ORDER BY a.event_id, a.seq$$,
    $$SELECT tests.id(n), 'queued'::ledger.event_status, 'processing'::ledger.event_status, w, 'agent'::ledger.actor_kind,
             w, jsonb_build_object('instance', w), 1, 2
        FROM (VALUES ('o1', 'worker-1'), ('o2', 'worker-1'), ('o3', 'worker-2'), ('o4', 'worker-1'),
                     ('o5', 'worker-2')) v (n, w)
       ORDER BY 1$$,
    'each claimed event gets exactly one audit row: queued to processing, by the worker''s principal as an agent with its key, naming the worker instance, at the attempt the claim counted');

-- A claim of the same event later gets a new token.
DO $setup$ BEGIN
    PERFORM api.release_events(ARRAY[tests.id('o1')], ARRAY[tests.token('o1')], p_now => tests.at(1),
                               p_key => tests.key('worker-1'));
END $setup$;
SELECT tests.token('o1') AS o1_first_token \gset
SELECT is(tests.claim_events('order-again', 'worker-3', 1, '{tests_order}', tests.at(1)), '{o1}',
    'a released event is claimed again');
SELECT isnt(tests.token('o1'), :'o1_first_token'::uuid,
    'claiming the same event again gives a fresh lease token, never the earlier one');

-- api.claim_events: run_after -----------------------------------------------------------------------
DO $setup$ BEGIN PERFORM tests.submit('l1', 'tests_later', p_run_after => tests.at(3600)); END $setup$;
SELECT is(tests.claim_events('later-early', 'worker-1', 10, '{tests_later}', tests.at(3599)), '{}',
    'an event whose run_after lies after p_now is not claimed');
SELECT is(tests.claim_events('later-due', 'worker-1', 10, '{tests_later}', tests.at(3600)), '{l1}',
    'an event is claimed once p_now reaches its run_after');

-- api.claim_events: types ---------------------------------------------------------------------------
DO $setup$ BEGIN PERFORM tests.submit('pa1', 'tests_pick_a'), tests.submit('pb1', 'tests_pick_b'),
                         tests.submit('pa2', 'tests_pick_a'); END $setup$;
SELECT is(tests.claim_events('pick-b', 'worker-1', 10, '{tests_pick_b,tests_unknown}', tests.at(0)), '{pb1}',
    'p_event_types restricts a claim to the listed types');
-- Everything else queued here is claimed already, so "any type" finds exactly the two left.
SELECT is(tests.claim_events('pick-any', 'worker-1', 10, NULL, tests.at(0)), '{pa1,pa2}',
    'p_event_types NULL claims events of any type');
-- Several types (one named twice): each type's queue in its own order, merged in claim order, up to
-- the limit; what is not taken stays queued.
DO $setup$ BEGIN PERFORM tests.submit('ma1', 'tests_pick_a', 1), tests.submit('mb1', 'tests_pick_b', 3),
                         tests.submit('ma2', 'tests_pick_a', 3), tests.submit('mb2', 'tests_pick_b', 0),
                         tests.submit('ma3', 'tests_pick_a', 0); END $setup$;
SELECT is(tests.claim_events('pick-many', 'worker-1', 4, '{tests_pick_a,tests_pick_b,tests_pick_a}', tests.at(0)),
          '{mb1,ma2,ma1,mb2}',
    'a claim of several types takes them merged in claim order (priority, then oldest), once each, up to the limit');
SELECT is((SELECT e.status::text FROM ledger.events e WHERE e.id = tests.id('ma3')), 'queued',
    'the event the limit left out stays queued and unlocked');
-- A claim reads no more of the queue than it needs, whatever waits there: with 3,000 events of a
-- type it does not claim queued first, and 1,000 of each of the two types it claims behind them,
-- a claim of 10 reads a few dozen rows (from this transaction's statistics).
INSERT INTO ledger.event_types (name, description) VALUES ('tests_backlog', 'a deep queue of another type');
CREATE FUNCTION tests.queue(p_type text, p_batches integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..p_batches LOOP
        PERFORM api.submit_events(
            (SELECT jsonb_agg(jsonb_build_object('customer_id', 'cust-' || g, 'event_type', p_type, 'payload', '{}'::jsonb))
               FROM generate_series(1, 1000) g), p_now => tests.at(0));
    END LOOP;
END
$$;
SELECT tests.queue('tests_backlog', 3), tests.queue('tests_pick_a', 1), tests.queue('tests_pick_b', 1);
SELECT is((SELECT count(*) FROM ledger.events e WHERE e.event_type = 'tests_backlog' AND e.status = 'queued'), 3000::bigint,
    'the fixture: 3,000 events of tests_backlog are queued');
ANALYZE ledger.events;  -- the planner knows what is queued, as autovacuum would tell it
CREATE TABLE tests.reads AS
SELECT coalesce(s.idx_tup_fetch, 0) + s.seq_tup_read AS n FROM pg_stat_xact_user_tables s WHERE s.relid = 'ledger.events'::regclass;
SELECT is(cardinality(tests.claim_events('pick-deep', 'worker-1', 10, '{tests_pick_a,tests_pick_b}', tests.at(0))), 10,
    'a claim of two types takes 10 events from behind 3,000 of another type');
SELECT cmp_ok((SELECT coalesce(s.idx_tup_fetch, 0) + s.seq_tup_read FROM pg_stat_xact_user_tables s
                WHERE s.relid = 'ledger.events'::regclass) - (SELECT r.n FROM tests.reads r), '<', 100::bigint,
    'and reads a few dozen rows to do it, not the queues behind or before them');

-- api.claim_events: attempts used up ----------------------------------------------------------------
-- x1 may be tried once. The api functions never leave an event queued with no attempt left, so a
-- DBA's raw UPDATE makes that state here: the claim must still respect it.
DO $setup$ BEGIN PERFORM tests.submit('x1', 'tests_once'); END $setup$;
SELECT is(tests.claim_events('once-1', 'worker-1', 10, '{tests_once}', tests.at(0)), '{x1}',
    'an event with one attempt left is claimed');
DO $setup$ BEGIN
    PERFORM api.release_events(ARRAY[tests.id('x1')], ARRAY[tests.token('x1')], p_now => tests.at(1),
                               p_key => tests.key('worker-1'));
    UPDATE ledger.events SET attempts = max_attempts WHERE id = tests.id('x1');
END $setup$;
SELECT is((SELECT (e.status, e.attempts, e.max_attempts)::text FROM ledger.events e WHERE e.id = tests.id('x1')),
          '(queued,1,1)',
    'the fixture: x1 is queued with all of its one attempt used');
SELECT is(tests.claim_events('once-2', 'worker-1', 10, '{tests_once}', tests.at(2)), '{}',
    'an event whose attempts equal max_attempts is not claimed');

-- Argument refusals (shared by both claims) ---------------------------------------------------------
SELECT throws_ok($$SELECT api.claim_events('worker-1', 0, NULL, tests.at(0))$$, 'AL019', NULL,
    'claim_events refuses p_limit 0 (AL019): a claim takes at least one event');
SELECT throws_ok(format($$SELECT api.claim_events('worker-1', %s, NULL, tests.at(0))$$,
                        (SELECT s.max_batch_size + 1 FROM ledger.settings s)), 'AL019', NULL,
    'claim_events refuses a p_limit above ledger.settings.max_batch_size (AL019)');
SELECT throws_ok($$SELECT api.claim_events('worker-1', 1, '{}', tests.at(0))$$, 'AL021', NULL,
    'claim_events refuses an empty type list (AL021): NULL means any type, an empty list would mean none');
SELECT throws_ok($$SELECT api.claim_events('worker-1', 1, ARRAY['tests_order', NULL], tests.at(0))$$, 'AL021', NULL,
    'claim_events refuses a type list holding NULL (AL021)');
SELECT throws_ok($$SELECT api.claim_actions('runner-1', 0, NULL, tests.at(0))$$, 'AL019', NULL,
    'claim_actions refuses p_limit 0 (AL019), like claim_events');
SELECT throws_ok($$SELECT api.claim_actions('runner-1', 1, '{}', tests.at(0))$$, 'AL021', NULL,
    'claim_actions refuses an empty type list (AL021), like claim_events');

-- api.claim_actions ---------------------------------------------------------------------------------
-- a1 approved and a2 (priority 5) rejected, both handed off (p_keep_lease false) at 10 s; a3 decided
-- at 10 s keeping its lease (live until 100 s); a4 decided at 0 s keeping its lease (until 90 s);
-- a6 decided and completed; a5 is submitted after the claims and stays queued.
DO $setup$ BEGIN PERFORM tests.submit('a1', 'tests_action', 0), tests.submit('a2', 'tests_action', 5),
                         tests.submit('a3', 'tests_action', 0), tests.submit('a4', 'tests_action', 0),
                         tests.submit('a6', 'tests_action', 0); END $setup$;
SELECT is(tests.claim_events('action-setup', 'decider-1', 10, '{tests_action}', tests.at(0)), '{a2,a1,a3,a4,a6}',
    'the fixture: the decider claims the five events to decide');
DO $setup$ BEGIN PERFORM tests.submit('a5', 'tests_action'); END $setup$;
DO $setup$ BEGIN
    PERFORM api.decide_events(tests.ids('{a4,a6}'), tests.tokens('{a4,a6}'), '{approved,approved}',
                              p_now => tests.at(0), p_key => tests.key('decider-1'));
    PERFORM api.complete_events(ARRAY[tests.id('a6')], ARRAY[tests.token('a6')], p_now => tests.at(1),
                                p_key => tests.key('decider-1'));
    PERFORM api.decide_events(tests.ids('{a1,a2}'), tests.tokens('{a1,a2}'), '{approved,rejected}',
                              '{"looks fine","too risky"}', '{"{\"score\": 0.9}","{\"score\": 0.1}"}',
                              p_keep_lease => false, p_now => tests.at(10), p_key => tests.key('decider-1'));
    PERFORM api.decide_events(ARRAY[tests.id('a3')], ARRAY[tests.token('a3')], '{approved}',
                              p_now => tests.at(10), p_key => tests.key('decider-1'));
END $setup$;
SELECT results_eq(
    $$SELECT f.name, e.status, e.attempts, e.lease_expires_at FROM ledger.events e JOIN tests.fx f ON f.id = e.id
       WHERE f.name IN ('a1', 'a2', 'a3', 'a4', 'a5', 'a6') ORDER BY f.name$$,
    $$VALUES ('a1', 'approved'::ledger.event_status, 0, NULL::timestamptz), ('a2', 'rejected', 0, NULL),
             ('a3', 'approved', 1, tests.at(100)), ('a4', 'approved', 1, tests.at(90)),
             ('a5', 'queued', 0, NULL), ('a6', 'completed', 1, NULL)$$,
    'the fixture: deciding starts the count of action attempts: at 0 for a1 and a2, which hold no lease, at 1 for a3 and a4, which keep theirs to run the action');

SELECT tests.audit_rows('{a1,a2,a3,a4}') AS actions_audit_before \gset
SELECT is(tests.claim_actions('actions-1', 'runner-1', 10, '{tests_action}', tests.at(95)), '{a2,a1}',
    'claim_actions offers decided events that hold no lease, by priority then id: the handed-off ones, not one under a live lease (a3), not one whose lease expired but was not rescued yet (a4), nor a queued (a5) or completed (a6) event');
SELECT results_eq(
    $$SELECT (c.c).id, (c.c).status, (c.c).result, (c.c).decision_reason, (c.c).attempts, (c.c).lease_expires_at
        FROM tests.claims c WHERE c.label = 'actions-1' ORDER BY c.seq$$,
    $$VALUES (tests.id('a2'), 'rejected'::ledger.event_status, '{"score": 0.1}'::jsonb, 'too risky'::text, 1, tests.at(185)),
             (tests.id('a1'), 'approved', '{"score": 0.9}', 'looks fine', 1, tests.at(185))$$,
    'a claimed action carries the decision (status, result, decision_reason), its attempt and a lease until p_now + lease_duration');
SELECT results_eq(
    $$SELECT f.name, e.status, e.attempts, e.lease_owner, e.lease_token = tests.token(f.name), e.lease_fenced
        FROM ledger.events e JOIN tests.fx f ON f.id = e.id WHERE f.name IN ('a1', 'a2') ORDER BY f.name$$,
    $$VALUES ('a1', 'approved'::ledger.event_status, 1, 'runner-1'::text, true, true),
             ('a2', 'rejected', 1, 'runner-1', true, true)$$,
    'claiming an action keeps the decided status, counts an attempt and gives the runner a fenced lease with the returned token');
SELECT is(tests.audit_rows('{a1,a2,a3,a4}'), :actions_audit_before,
    'claiming an action writes no audit row: the status does not change');
DO $setup$ BEGIN PERFORM api.rescue_expired_leases(p_now => tests.at(95)); END $setup$;
SELECT is(tests.claim_actions('actions-1b', 'runner-1', 10, '{tests_action}', tests.at(95)), '{a4}',
    'once the rescue has freed a4''s expired lease, its action is offered');
SELECT ok((SELECT (c.c).lease_token FROM tests.claims c WHERE c.label = 'action-setup' AND (c.c).id = tests.id('a4'))
          IS DISTINCT FROM tests.token('a4')
          AND (SELECT e.last_lease_token IS NULL AND e.attempts = 2 FROM ledger.events e WHERE e.id = tests.id('a4')),
    'with a fresh token and its second attempt (its decider kept the lease for the first); the old token is forgotten');
SELECT is(tests.claim_actions('actions-2', 'runner-2', 10, '{tests_action}', tests.at(99.999)), '{}',
    'claim_actions offers nothing while every decided event is under a lease');
SELECT is(tests.claim_actions('actions-3', 'runner-2', 10, NULL, tests.at(100)), '{}',
    'a kept lease that has just expired is not taken over by a claim: only the rescue frees it');
DO $setup$ BEGIN PERFORM api.rescue_expired_leases(p_now => tests.at(100)); END $setup$;
SELECT is(tests.claim_actions('actions-4', 'runner-2', 10, NULL, tests.at(100)), '{a3}',
    'after the rescue, the action is offered (queued and completed events still are not)');

-- claim_actions respects run_after: a7's action failed at 0 s and is retried a minute later.
DO $setup$ BEGIN PERFORM tests.submit('a7', 'tests_action_retry'); END $setup$;
SELECT is(tests.claim_events('a7-decide', 'decider-1', 1, '{tests_action_retry}', tests.at(0)), '{a7}',
    'the fixture: a7 is claimed to be decided');
DO $setup$ BEGIN
    PERFORM api.decide_events(ARRAY[tests.id('a7')], ARRAY[tests.token('a7')], '{approved}',
                              p_keep_lease => false, p_now => tests.at(0), p_key => tests.key('decider-1'));
    PERFORM tests.claim_actions('a7-run', 'runner-1', 1, '{tests_action_retry}', tests.at(0));
    PERFORM api.fail_events(ARRAY[tests.id('a7')], ARRAY[tests.token('a7')], '{"bank API down"}',
                            p_now => tests.at(0), p_key => tests.key('runner-1'));
END $setup$;
SELECT is((SELECT (e.status, e.attempts, e.run_after, e.lease_token IS NULL)::text
             FROM ledger.events e WHERE e.id = tests.id('a7')),
          ('approved', 1, tests.at(60), true)::text,
    'the fixture: a7''s action failed once and waits, still approved and unleased, until its back-off ends');
SELECT is(tests.claim_actions('a7-early', 'runner-2', 10, '{tests_action_retry}', tests.at(59)), '{}',
    'claim_actions does not offer a decided event before its run_after');
SELECT is(tests.claim_actions('a7-due', 'runner-2', 10, '{tests_action_retry}', tests.at(60)), '{a7}',
    'claim_actions offers it once p_now reaches its run_after');
SELECT is((SELECT e.attempts FROM ledger.events e WHERE e.id = tests.id('a7')), 2,
    'each claim of an action counts one more attempt');

-- claim_actions reads only the named types' queues: 3,000 decided events of another type wait for
-- their action (no runner of theirs is up) ahead of a8's.
DO $setup$
DECLARE
    v_ids bigint[];
    v_tokens uuid[];
BEGIN
    FOR i IN 1..3 LOOP
        SELECT array_agg(c.id), array_agg(c.lease_token) INTO v_ids, v_tokens
          FROM api.claim_events('decider-2', 1000, '{tests_backlog}', tests.at(0), tests.key('decider-2')) c;
        PERFORM api.decide_events(v_ids, v_tokens, array_fill('approved'::text, ARRAY[1000]),
                                  p_keep_lease => false, p_now => tests.at(0), p_key => tests.key('decider-2'));
    END LOOP;
END $setup$;
DO $setup$ BEGIN PERFORM tests.submit('a8', 'tests_action'); END $setup$;
SELECT is(tests.claim_events('a8-decide', 'decider-1', 2, '{tests_action}', tests.at(0)), '{a5,a8}',
    'the fixture: a8 is claimed to be decided (with a5, queued since the start)');
DO $setup$ BEGIN
    PERFORM api.decide_events(ARRAY[tests.id('a8')], ARRAY[tests.token('a8')], '{approved}',
                              p_keep_lease => false, p_now => tests.at(0), p_key => tests.key('decider-1'));
END $setup$;
ANALYZE ledger.events;
CREATE TABLE tests.action_reads AS
SELECT coalesce(s.idx_tup_fetch, 0) + s.seq_tup_read AS n FROM pg_stat_xact_user_tables s WHERE s.relid = 'ledger.events'::regclass;
SELECT is(tests.claim_actions('a8-run', 'runner-3', 10, '{tests_action,tests_action_retry}', tests.at(0)), '{a8}',
    'a claim of actions for two types takes a8 from behind 3,000 pending actions of another type');
SELECT cmp_ok((SELECT coalesce(s.idx_tup_fetch, 0) + s.seq_tup_read FROM pg_stat_xact_user_tables s
                WHERE s.relid = 'ledger.events'::regclass) - (SELECT r.n FROM tests.action_reads r), '<', 100::bigint,
    'and reads a few rows to do it, not the other type''s pending actions');

SELECT * FROM finish();
ROLLBACK;
