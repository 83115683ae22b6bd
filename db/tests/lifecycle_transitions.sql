-- The event lifecycle: every (from, to) pair of ledger.event_status, through api.transition_event
-- and through raw UPDATEs of ledger.events; the audit row of each change; the CHECK constraints and
-- write-once columns that hold for every writer. The pairs with in_review, and the review steps,
-- are db/tests/reviews.sql's; notes (same-status rows, made only by the api functions) are
-- db/tests/reviews.sql's and db/tests/deadlines.sql's.
BEGIN;
SELECT plan(183);

CREATE SCHEMA tests;

-- The lifecycle as specified (independent of ledger.transitions, which is checked against it).
CREATE TABLE tests.allowed (
    from_status ledger.event_status,
    to_status ledger.event_status,
    reason_required boolean,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO tests.allowed VALUES
    ('queued', 'processing', false),
    ('processing', 'approved', false),
    ('processing', 'rejected', false),
    ('approved', 'completed', false),
    ('approved', 'failed', false),
    ('rejected', 'completed', false),
    ('rejected', 'failed', false),
    ('processing', 'queued', false),
    ('processing', 'failed', false),
    ('failed', 'queued', true),
    ('queued', 'failed', true);

-- The statuses of this file: all but in_review (db/tests/reviews.sql).
CREATE VIEW tests.statuses AS
SELECT s, i FROM unnest(enum_range(NULL::ledger.event_status)) WITH ORDINALITY AS e(s, i) WHERE s <> 'in_review';

-- All 36 (from, to) pairs in enum order, each marked allowed (and reason_required) or not.
CREATE VIEW tests.pairs AS
SELECT f.s AS from_status, t.s AS to_status, a.from_status IS NOT NULL AS allowed,
       coalesce(a.reason_required, false) AS reason_required, f.i AS from_ord, t.i AS to_ord
  FROM tests.statuses f
 CROSS JOIN tests.statuses t
  LEFT JOIN tests.allowed a ON a.from_status = f.s AND a.to_status = t.s;

-- The fixture clock: every api call gets it as p_now.
CREATE FUNCTION tests.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2026-11-26 09:00:00+00'::timestamptz;

-- Who acts: the session's login (a DBA), the fixture agent that walks events along the lifecycle,
-- the operator ann (a worker key to move events through api.transition_event, a reviewer key for
-- the operator steps) and the support desk, which cancels through the API role.
SELECT api.create_principal('dba', 'human', session_user);
SELECT api.create_principal('fixture-agent', 'agent'), api.create_principal('operator-ann', 'human'),
       api.create_principal('support-desk', 'human');
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys VALUES
    ('fixture-agent', api.create_api_key('fixture-agent', 'worker')),
    ('operator-ann', api.create_api_key('operator-ann', 'worker')),
    ('operator-ann-review', api.create_api_key('operator-ann', 'reviewer', 'operator-ann-review')),
    ('support-desk', api.create_api_key('support-desk', 'reviewer'));
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Each fixture event has an event type of its own, so a claim of its action takes that event.
CREATE SEQUENCE tests.types;

-- A fresh event in p_status: submitted with api.submit_event and walked along allowed moves with
-- api.transition_event by the fixture agent, each step with a reason (so later checks can see it
-- replaced); completing an approval takes a claim of its action first. Only the principal holding
-- an event's lease moves it on: with p_holder, that principal ends holding the event's lease (it
-- makes the claim of an event left processing; it claims the action of a decided one).
CREATE FUNCTION tests.event_in(p_status ledger.event_status, p_holder text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := 'tests_lifecycle_' || nextval('tests.types');
    v_id bigint;
    v_step text;
    v_token uuid;
BEGIN
    INSERT INTO ledger.event_types (name, description) VALUES (v_type, 'a lifecycle fixture');
    SELECT r.id INTO v_id
      FROM api.submit_event('cust-lifecycle', v_type, '{"amount": 1000}'::jsonb, p_now => tests.now(),
                            p_key => tests.key('fixture-agent')) r;
    FOREACH v_step IN ARRAY CASE p_status
        WHEN 'queued' THEN '{}'::text[]
        WHEN 'processing' THEN '{processing}'::text[]
        WHEN 'approved' THEN '{processing,approved}'::text[]
        WHEN 'rejected' THEN '{processing,rejected}'::text[]
        WHEN 'completed' THEN '{processing,approved,completed}'::text[]
        WHEN 'failed' THEN '{processing,failed}'::text[]
    END
    LOOP
        IF v_step = 'completed' THEN
            SELECT c.lease_token INTO v_token
              FROM api.claim_actions('fixture-agent', 1, ARRAY[v_type], tests.now(), tests.key('fixture-agent')) c;
        END IF;
        PERFORM api.transition_event(v_id, v_step, 'fixture step to ' || v_step, NULL, NULL, tests.now(), v_token,
                                     tests.key(CASE WHEN v_step = 'processing' AND p_status = 'processing'
                                                    THEN coalesce(p_holder, 'fixture-agent')
                                                    ELSE 'fixture-agent' END));
    END LOOP;
    IF p_holder IS NOT NULL AND p_status IN ('approved', 'rejected') THEN
        PERFORM api.claim_actions(p_holder, 1, ARRAY[v_type], tests.now(), tests.key(p_holder));
    END IF;
    RETURN v_id;
END
$$;

-- The operator acts an hour later (a lease's expiry changes nothing for its holder).
CREATE FUNCTION tests.later() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN tests.now() + interval '1 hour';

-- VOLATILE, so it sees events created earlier in the calling statement.
CREATE FUNCTION tests.status_of(p_event_id bigint) RETURNS ledger.event_status LANGUAGE sql VOLATILE
RETURN (SELECT e.status FROM ledger.events e WHERE e.id = p_event_id);

CREATE FUNCTION tests.audit_count(p_event_id bigint) RETURNS integer LANGUAGE sql STABLE
RETURN (SELECT count(*)::integer FROM ledger.audit_log a WHERE a.event_id = p_event_id);

-- The latest audit row of an event as text: from, to, actor, actor_kind, reason, version.
CREATE FUNCTION tests.last_audit(p_event_id bigint) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(a.from_status, a.to_status, a.actor, a.actor_kind, a.reason, a.version)::text
          FROM ledger.audit_log a WHERE a.event_id = p_event_id ORDER BY a.seq DESC LIMIT 1);

-- The event's status, version and who changed it last, as text.
CREATE FUNCTION tests.event_state(p_event_id bigint) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT ROW(e.status, e.version, e.changed_by, e.changed_by_kind)::text
          FROM ledger.events e WHERE e.id = p_event_id);

-- The HINT of the error p_sql raises (NULL if it raises none).
CREATE FUNCTION tests.hint_of(p_sql text) RETURNS text
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

-- All 36 pairs through api.transition_event, one fresh event each, held (where it holds a lease) by
-- operator ann, who moves it with the lease's token.
CREATE FUNCTION tests.check_pairs_via_function() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    v_id bigint;
    v_before integer;
    v_version integer;
    v_reason text;
    v_move text;
    v_call text;
BEGIN
    FOR p IN SELECT * FROM tests.pairs ORDER BY from_ord, to_ord LOOP
        v_id := tests.event_in(p.from_status, 'operator-ann');
        v_move := format('%s -> %s', p.from_status, p.to_status);
        v_reason := format('operator moves it %s', v_move);
        v_call := format('SELECT api.transition_event(%s, %L, %L, NULL, NULL, %L, %L, %L)',
                         v_id, p.to_status, v_reason, tests.later(),
                         (SELECT e.lease_token FROM ledger.events e WHERE e.id = v_id), tests.key('operator-ann'));
        IF p.from_status = p.to_status THEN
            RETURN NEXT throws_ok(v_call, 'AL003', format('event %s is already %s', v_id, p.to_status),
                format('api.transition_event refuses %s with AL003 "already": a transition must change the status', v_move));
        ELSIF NOT p.allowed THEN
            RETURN NEXT throws_ok(v_call, 'AL003',
                format('event %s cannot go from %s to %s', v_id, p.from_status, p.to_status),
                format('api.transition_event refuses %s with AL003: the lifecycle has no such move', v_move));
        ELSE
            IF p.reason_required THEN
                -- Re-queue and cancel are operator steps, made through their own functions.
                RETURN NEXT throws_ok(v_call, 'AL003', NULL,
                    format('api.transition_event refuses %s: it is an operator step', v_move));
                v_call := format('SELECT api.%s_event(%s, %L, %L, %L)',
                                 CASE p.to_status WHEN 'queued' THEN 'requeue' ELSE 'cancel' END,
                                 v_id, v_reason, tests.now(), tests.key('operator-ann-review'));
                RETURN NEXT throws_ok(
                    format('SELECT api.%s_event(%s, NULL, %L, %L)',
                           CASE p.to_status WHEN 'queued' THEN 'requeue' ELSE 'cancel' END,
                           v_id, tests.now(), tests.key('operator-ann-review')),
                    'AL008', NULL,
                    format('the operator step %s is refused without a reason (AL008): this move needs one', v_move));
            END IF;
            v_before := tests.audit_count(v_id);
            SELECT e.version INTO v_version FROM ledger.events e WHERE e.id = v_id;
            RETURN NEXT lives_ok(v_call,
                format('api.transition_event allows %s: it is a move of the lifecycle', v_move));
            RETURN NEXT is(tests.audit_count(v_id) - v_before, 1,
                format('%s via api.transition_event writes exactly one audit row', v_move));
            RETURN NEXT is(tests.last_audit(v_id),
                ROW(p.from_status, p.to_status, 'operator-ann', 'human'::ledger.actor_kind, v_reason,
                    v_version + 1)::text,
                format('the audit row of %s via api.transition_event carries from, to, the acting principal, its kind, reason and the new version', v_move));
            RETURN NEXT is(tests.event_state(v_id),
                ROW(p.to_status, v_version + 1, 'operator-ann', 'human'::ledger.actor_kind)::text,
                format('%s via api.transition_event moves the event, advances its version by one and names the acting principal', v_move));
        END IF;
    END LOOP;
END
$$;

-- All 36 pairs through a raw UPDATE of ledger.events by the superuser, one fresh event each. The
-- UPDATE sets the lease columns the CHECK constraint needs for the target status (a lease while
-- processing, none otherwise), so the lifecycle trigger is the only thing that can refuse it.
CREATE FUNCTION tests.check_pairs_via_raw_update() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    v_id bigint;
    v_before integer;
    v_version integer;
    v_state text;
    v_move text;
    v_set text;
    v_reason text;
BEGIN
    FOR p IN SELECT * FROM tests.pairs ORDER BY from_ord, to_ord LOOP
        v_id := tests.event_in(p.from_status);
        v_move := format('%s -> %s', p.from_status, p.to_status);
        v_reason := format('DBA moves it %s', v_move);
        v_set := format('UPDATE ledger.events SET status = %L, %s', p.to_status, CASE
            WHEN p.to_status = 'processing'
                THEN 'lease_owner = ''raw-worker'', lease_token = gen_random_uuid(), lease_expires_at = now() + interval ''30 seconds'''
            ELSE 'lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL'
        END);
        IF p.from_status = p.to_status THEN
            v_before := tests.audit_count(v_id);
            SELECT ROW(e.status, e.version)::text INTO v_state FROM ledger.events e WHERE e.id = v_id;
            RETURN NEXT lives_ok(format('%s WHERE id = %s', v_set, v_id),
                format('a raw UPDATE setting %s runs: it is not a status change', v_move));
            RETURN NEXT is(tests.audit_count(v_id) - v_before, 0,
                format('a raw UPDATE setting %s writes no audit row: the status did not change', v_move));
            RETURN NEXT is((SELECT ROW(e.status, e.version)::text FROM ledger.events e WHERE e.id = v_id), v_state,
                format('a raw UPDATE setting %s leaves the status and version as they were', v_move));
        ELSIF NOT p.allowed THEN
            RETURN NEXT throws_ok(format('%s WHERE id = %s', v_set, v_id), 'AL003',
                format('event %s cannot go from %s to %s', v_id, p.from_status, p.to_status),
                format('the trigger refuses a raw UPDATE %s with AL003: the lifecycle has no such move', v_move));
        ELSE
            IF p.reason_required THEN
                RETURN NEXT throws_ok(format('%s WHERE id = %s', v_set, v_id), 'AL008', NULL,
                    format('the trigger refuses a raw UPDATE %s without change_reason (AL008): this move needs one', v_move));
                v_set := v_set || format(', change_reason = %L', v_reason);
            ELSE
                v_reason := NULL;  -- an unannotated change drops the reason of the previous change
            END IF;
            v_before := tests.audit_count(v_id);
            SELECT e.version INTO v_version FROM ledger.events e WHERE e.id = v_id;
            RETURN NEXT lives_ok(format('%s WHERE id = %s', v_set, v_id),
                format('a raw UPDATE %s is allowed: it is a move of the lifecycle', v_move));
            RETURN NEXT is(tests.audit_count(v_id) - v_before, 1,
                format('a raw UPDATE %s writes exactly one audit row', v_move));
            RETURN NEXT is(tests.last_audit(v_id),
                ROW(p.from_status, p.to_status, session_user, 'human'::ledger.actor_kind, v_reason,
                    v_version + 1)::text,
                format('the audit row of a raw UPDATE %s carries from, to, session_user as a human actor, the reason given (or none) and the new version', v_move));
            RETURN NEXT is(tests.event_state(v_id),
                ROW(p.to_status, v_version + 1, session_user, 'human'::ledger.actor_kind)::text,
                format('a raw UPDATE %s that leaves version alone advances it by one and is attributed to session_user as human', v_move));
        END IF;
    END LOOP;
END
$$;

-- 1 The lifecycle table is the specified one.
SELECT results_eq(
    $$SELECT from_status, to_status, reason_required FROM ledger.transitions
       WHERE 'in_review' NOT IN (from_status, to_status) AND from_status <> to_status ORDER BY 1, 2$$,
    'SELECT from_status, to_status, reason_required FROM tests.allowed ORDER BY 1, 2',
    'ledger.transitions allows exactly the 11 specified moves outside review and notes, and requires a reason for re-queue and cancel only');

-- 1 The fixture reaches every status.
SELECT results_eq(
    $$SELECT s, tests.status_of(tests.event_in(s)) FROM tests.statuses ORDER BY i$$,
    $$SELECT s, s FROM tests.statuses ORDER BY i$$,
    'the fixture builds an event in each status along allowed moves only');

-- 71 Every pair through the function: 6 same-status, 19 refused, 11 allowed (4 each, +1 for the 2
-- that need a reason).
SELECT * FROM tests.check_pairs_via_function();

-- 83 Every pair through a raw UPDATE: 6 same-status (3 each), 19 refused, 11 allowed (4 each, +1
-- for the 2 that need a reason).
SELECT * FROM tests.check_pairs_via_raw_update();

-- Hints name where an event may go, or that its status is terminal.
SELECT tests.event_in('completed') AS completed_id, tests.event_in('queued') AS queued_id \gset
SELECT ok(tests.hint_of(format('SELECT api.transition_event(%s, %L, p_now => %L)',
                               :completed_id, 'queued', tests.now()))
          LIKE '%completed is terminal%',
          'the hint of a refused move out of completed, via api.transition_event, says completed is terminal');
SELECT ok(tests.hint_of(format('UPDATE ledger.events SET status = %L WHERE id = %s', 'failed', :completed_id))
          LIKE '%completed is terminal%',
          'the hint of a refused raw UPDATE out of completed says completed is terminal');
SELECT is(tests.hint_of(format('SELECT api.transition_event(%s, %L, p_now => %L)',
                               :queued_id, 'completed', tests.now())),
          format('event %s is queued; from queued it may go to processing, failed', :queued_id),
          'the hint of a refused move out of queued lists the statuses queued may go to');

-- A blank reason is no reason.
SELECT throws_ok(format('SELECT api.cancel_event(%s, %L, %L)',
                        :queued_id, '   ', tests.now()),
                 'AL008', NULL,
                 'cancelling a queued event with a blank reason is refused (AL008): a reason must have text');

-- A raw writer cannot choose the version or the actor of its change: the trigger sets them.
SELECT lives_ok(format('UPDATE ledger.events SET status = %L, change_reason = %L, version = version + 2, changed_by = %L, changed_by_kind = %L WHERE id = %s',
                       'failed', 'skip ahead', 'operator-bob', 'agent', :queued_id),
                'a raw status change may try to set version and actor');
SELECT is(tests.last_audit(:queued_id),
          ROW('queued'::ledger.event_status, 'failed'::ledger.event_status, session_user::text,
              'human'::ledger.actor_kind, 'skip ahead', 2)::text,
          'a raw status change is audited as the database user''s, at version + 1, whatever actor and version it claimed');

-- A raw UPDATE of several events writes one audit row for each event it moves.
SELECT tests.event_in('queued') AS q1, tests.event_in('queued') AS q2 \gset
SELECT lives_ok(format('UPDATE ledger.events SET status = %L, change_reason = %L WHERE id IN (%s, %s)',
                       'failed', 'bulk cancel by DBA', :q1, :q2),
                'a raw UPDATE may cancel two queued events with a reason in one statement');
SELECT results_eq(
    format($$SELECT event_id, from_status, to_status, version, reason FROM ledger.audit_log
              WHERE event_id IN (%s, %s) AND version = 2 ORDER BY event_id$$, :q1, :q2),
    format($$VALUES (%s::bigint, 'queued'::ledger.event_status, 'failed'::ledger.event_status, 2, 'bulk cancel by DBA'),
                    (%s::bigint, 'queued'::ledger.event_status, 'failed'::ledger.event_status, 2, 'bulk cancel by DBA')$$,
           :q1, :q2),
    'a multi-row raw UPDATE writes one audit row per event whose status it changed');

-- The lease columns follow the status (CHECK events_lease_matches_status), for every writer.
SELECT tests.event_in('queued') AS lease_q, tests.event_in('processing') AS lease_p,
       tests.event_in('approved') AS lease_a, tests.event_in('completed') AS lease_c \gset
SELECT throws_ok(format($$UPDATE ledger.events SET lease_owner = 'w', lease_token = gen_random_uuid(),
                                 lease_expires_at = now() WHERE id = %s$$, :lease_q),
                 '23514', 'new row for relation "events" violates check constraint "events_lease_matches_status"',
                 'a queued event cannot hold a lease (23514)');
SELECT throws_ok(format($$UPDATE ledger.events SET status = 'processing' WHERE id = %s$$, :lease_q),
                 '23514', 'new row for relation "events" violates check constraint "events_lease_matches_status"',
                 'a claim without a lease is refused (23514): a processing event must hold one');
SELECT throws_ok(format($$UPDATE ledger.events SET lease_owner = NULL, lease_token = NULL,
                                 lease_expires_at = NULL WHERE id = %s$$, :lease_p),
                 '23514', 'new row for relation "events" violates check constraint "events_lease_matches_status"',
                 'a processing event cannot drop its lease (23514)');
SELECT throws_ok(format($$UPDATE ledger.events SET lease_owner = 'w', lease_token = gen_random_uuid(),
                                 lease_expires_at = now() WHERE id = %s$$, :lease_c),
                 '23514', 'new row for relation "events" violates check constraint "events_lease_matches_status"',
                 'a completed event cannot hold a lease (23514)');
SELECT throws_ok(format($$UPDATE ledger.events SET lease_owner = 'w' WHERE id = %s$$, :lease_a),
                 '23514', 'new row for relation "events" violates check constraint "events_lease_matches_status"',
                 'lease owner, token and expiry are set and cleared together (23514)');

-- What was submitted is write-once.
SELECT throws_ok(format($$UPDATE ledger.events SET payload = '{"amount": 1}' WHERE id = %s$$, :lease_q),
                 'AL012', format('event %s: what was submitted cannot be changed', :lease_q),
                 'the payload of an event cannot be changed (AL012)');
SELECT throws_ok(format($$UPDATE ledger.events SET customer_id = 'someone-else' WHERE id = %s$$, :lease_q),
                 'AL012', format('event %s: what was submitted cannot be changed', :lease_q),
                 'the customer of an event cannot be changed (AL012)');
SELECT lives_ok(format($$UPDATE ledger.events SET payload = payload, customer_id = customer_id WHERE id = %s$$, :lease_q),
                'an UPDATE that names write-once columns without changing them is not refused');

-- Every event enters the lifecycle as queued, even when inserted directly.
SELECT throws_ok($$INSERT INTO ledger.events (customer_id, event_type, payload, status)
                   VALUES ('cust-raw', 'fraud_alert', '{}', 'failed')$$,
                 'AL003', NULL,
                 'an INSERT into ledger.events as failed is refused (AL003): events start as queued');
SELECT throws_ok($$INSERT INTO ledger.events (customer_id, event_type, payload, status, lease_owner, lease_token, lease_expires_at)
                   VALUES ('cust-raw', 'fraud_alert', '{}', 'processing', 'w', gen_random_uuid(), now())$$,
                 'AL003', NULL,
                 'an INSERT into ledger.events as processing, lease and all, is refused (AL003): events start as queued');
SELECT throws_ok($$INSERT INTO ledger.events (customer_id, event_type, payload, status)
                   VALUES ('cust-raw', 'fraud_alert', '{}', 'completed')$$,
                 'AL003', NULL,
                 'an INSERT into ledger.events as completed is refused (AL003): events start as queued');
SELECT lives_ok($$INSERT INTO ledger.events (customer_id, event_type, payload)
                  VALUES ('cust-raw', 'fraud_alert', '{}')$$,
                'an INSERT into ledger.events as queued is accepted');
SELECT results_eq(
    $$SELECT a.from_status, a.to_status, a.version, a.actor = session_user, a.actor_kind FROM ledger.audit_log a
       WHERE a.event_id = (SELECT max(id) FROM ledger.events WHERE customer_id = 'cust-raw')$$,
    $$VALUES (NULL::ledger.event_status, 'queued'::ledger.event_status, 1, true, 'human'::ledger.actor_kind)$$,
    'a direct INSERT writes the first audit row (version 1, queued) attributed to session_user as human');

-- The client role reaches the lifecycle through the function only, and is audited as the principal
-- of the key it passes.
SELECT tests.event_in('queued') AS api_q, tests.key('support-desk') AS support_key \gset
SET LOCAL ROLE agentledger_api;
SELECT lives_ok(format('SELECT api.cancel_event(%s, %L, p_key => %L)',
                       :api_q, 'customer withdrew', :'support_key'),
                'agentledger_api may cancel a queued event through api.cancel_event');
RESET ROLE;
SELECT is(tests.last_audit(:api_q),
          ROW('queued'::ledger.event_status, 'failed'::ledger.event_status, 'support-desk',
              'human'::ledger.actor_kind, 'customer withdrew', 2)::text,
          'a change made by agentledger_api through the function is audited as the principal of its key, with the reason it passed');

-- version and the record of the latest change move only with a status change.
SELECT throws_ok(format('UPDATE ledger.events SET version = version + 5 WHERE id = %s', tests.event_in('queued')),
    'AL012', NULL, 'a raw UPDATE cannot move version without a status change');
SELECT throws_ok(format($$UPDATE ledger.events SET changed_by = 'mallory' WHERE id = %s$$, tests.event_in('processing')),
    'AL012', NULL, 'a raw UPDATE cannot rewrite who made the latest change without a status change');

SELECT * FROM finish();
ROLLBACK;
