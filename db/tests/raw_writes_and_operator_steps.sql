-- Lifecycle and audit integrity against raw writes by the owner and against client roles acting
-- through api.transition_event. Each check states what the README promises; all changes roll back.
BEGIN;
SELECT plan(13);

CREATE SCHEMA tests;

-- The principals: agents with worker keys, and the operator bob, a person with a worker key and a
-- reviewer key (named bob-review) for the operator steps. The session's login acts for dba.
SELECT api.create_principal('dba', 'human', session_user);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, 'worker')
  FROM (VALUES ('fixture-agent', 'agent'), ('worker-a', 'agent'), ('worker-x', 'agent'),
               ('operator-bob', 'human')) p (name, kind);
INSERT INTO tests.keys VALUES ('operator-bob-review', api.create_api_key('operator-bob', 'reviewer', 'operator-bob-review'));
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- A fresh event walked to p_status through the api, by the principal p_actor, each step with a reason.
CREATE FUNCTION tests.event_in(p_status text, p_actor text DEFAULT 'fixture-agent') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_step text;
BEGIN
    SELECT r.id INTO v_id FROM api.submit_event('edge-cust', 'loan_application', '{"amount": 1}',
                                                p_key => tests.key(p_actor)) r;
    FOREACH v_step IN ARRAY CASE p_status
        WHEN 'queued' THEN '{}'::text[]
        WHEN 'processing' THEN '{processing}'::text[]
        WHEN 'failed' THEN '{processing,failed}'::text[]
        WHEN 'requeued' THEN '{processing,failed,requeue}'::text[]
    END
    LOOP
        IF v_step = 'requeue' THEN
            PERFORM api.requeue_event(v_id, 'fixture re-queue', p_key => tests.key(p_actor || '-review'));
        ELSE
            PERFORM api.transition_event(v_id, v_step, 'fixture step to ' || v_step, p_key => tests.key(p_actor));
        END IF;
    END LOOP;
    RETURN v_id;
END
$$;
GRANT USAGE ON SCHEMA tests TO agentledger_worker;

-- The actor of the latest audit row of an event, or 'refused:<SQLSTATE>' when p_sql raises.
CREATE FUNCTION tests.actor_after(p_sql text, p_event_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
    RETURN (SELECT a.actor FROM ledger.audit_log a WHERE a.event_id = p_event_id ORDER BY a.seq DESC LIMIT 1);
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused:' || SQLSTATE;
END
$$;

-- 1. A raw cancel (queued -> failed needs a reason) that bumps version itself but names no reason
--    is refused with AL008: the previous change's reason does not count.
SELECT tests.event_in('requeued', 'operator-bob') AS rq \gset
SELECT throws_ok(
    format('UPDATE ledger.events SET status = %L, version = version + 1 WHERE id = %s', 'failed', :rq),
    'AL008', NULL,
    'a raw cancel that advances version but gives no reason is refused (AL008), not satisfied by the previous change''s reason');

-- 2. A raw UPDATE that advances version but names no actor is the DBA's change: it must be recorded
--    as session_user (or refused), never as whoever made the previous change.
SELECT tests.event_in('processing', 'worker-a') AS p1 \gset
SELECT ok(
    tests.actor_after(
        format($$UPDATE ledger.events SET status = 'queued', version = version + 1, lease_owner = NULL,
                        lease_token = NULL, lease_expires_at = NULL WHERE id = %s$$, :p1), :p1)
        IN (session_user::text, 'refused:AL012'),
    'a raw status change that advances version without naming an actor is not attributed to the previous actor');

-- 3. The id of an event is its identity: a raw UPDATE cannot renumber it (the audit chain stays
--    under the old id, and a status change made in the same UPDATE gets no audit row at all).
SELECT tests.event_in('queued') AS q1 \gset
SELECT throws_ok(
    format('UPDATE ledger.events SET id = DEFAULT, status = %L, change_reason = %L WHERE id = %s',
           'failed', 'renumbered', :q1),
    'AL012', NULL,
    'a raw UPDATE cannot give an event a new id (SET id = DEFAULT) and change its status unaudited');

-- 4. Event ids are unique: a raw INSERT re-using an existing id for another customer is refused.
SELECT tests.event_in('queued') AS q2 \gset
SELECT throws_ok(
    format($$INSERT INTO ledger.events (id, customer_id, event_type, payload) OVERRIDING SYSTEM VALUE
             VALUES (%s, 'edge-other', 'loan_application', '{}')$$, :q2),
    NULL, NULL,
    'a raw INSERT cannot create a second event with an id that is already taken');
SELECT is((SELECT count(*) FROM ledger.events WHERE id = :q2), 1::bigint, 'event ids stay unique');

-- 5. Operator steps are api-only (README roles table): a worker may not re-queue or cancel through
--    the generic transition function either.
SELECT tests.event_in('failed') AS f1, tests.event_in('queued') AS q3, tests.key('worker-x') AS worker_x_key \gset
SET LOCAL ROLE agentledger_worker;
SELECT throws_ok(format('SELECT api.transition_event(%s, %L, %L, p_key => %L)', :f1, 'queued', 'because', :'worker_x_key'),
    'AL003', NULL, 'agentledger_worker may not re-queue a failed event through api.transition_event');
SELECT throws_ok(format('SELECT api.transition_event(%s, %L, %L, p_key => %L)', :q3, 'failed', 'because', :'worker_x_key'),
    'AL003', NULL, 'agentledger_worker may not cancel a queued event through api.transition_event');
RESET ROLE;

-- 6. A scheduled event is not claimable before run_after.
SELECT (api.submit_event('edge-cust', 'loan_application', '{}', p_run_after => now() + interval '1 day')).id AS later \gset
SELECT throws_ok(format('SELECT api.transition_event(%s, %L, p_key => %L)', :later, 'processing', tests.key('worker-a')),
    'AL003', NULL, 'an event scheduled for tomorrow cannot be claimed today');

-- 7. Writes made as the owner that change the status and move updated_at skip the row trigger (its
--    WHEN clause: the api functions write so, outside a test's single transaction); the audit
--    trigger checks them once per statement, with the same SQLSTATEs.
SELECT tests.event_in('queued') AS o1, tests.event_in('queued') AS o2, tests.event_in('queued') AS o3 \gset
SET LOCAL ROLE agentledger_owner;
SELECT throws_ok(
    format($$UPDATE ledger.events SET status = 'completed', version = version + 1,
                    updated_at = updated_at + interval '1 second' WHERE id = %s$$, :o1),
    'AL003', format('event %s cannot go from queued to completed', :o1),
    'as the owner, a move that ledger.transitions does not allow is refused (AL003)');
SELECT throws_ok(
    format($$UPDATE ledger.events SET status = 'failed', change_reason = 'withdrawn',
                    updated_at = updated_at + interval '1 second' WHERE id = %s$$, :o1),
    'AL012', NULL,
    'as the owner, a status change that does not advance version by one is refused (AL012)');
SELECT throws_ok(
    format($$UPDATE ledger.events SET status = 'failed', version = version + 1,
                    updated_at = updated_at + interval '1 second' WHERE id = %s$$, :o1),
    'AL008', NULL,
    'as the owner, a cancel without a reason is refused (AL008)');
SELECT lives_ok(
    format($$UPDATE ledger.events SET status = 'failed', version = version + 1, change_reason = 'withdrawn',
                    changed_by = 'operator-carol', changed_by_kind = 'human',
                    updated_at = updated_at + interval '1 second' WHERE id IN (%s, %s)$$, :o2, :o3),
    'as the owner, allowed moves of two events in one statement pass');
RESET ROLE;
SELECT results_eq(
    format($$SELECT a.event_id, a.from_status::text, a.to_status::text, a.actor, a.reason
               FROM ledger.audit_log a WHERE a.event_id IN (%s, %s, %s) AND a.version > 1
              ORDER BY a.event_id$$, :o1, :o2, :o3),
    format($$VALUES (%s::bigint, 'queued', 'failed', 'operator-carol', 'withdrawn'),
                    (%s::bigint, 'queued', 'failed', 'operator-carol', 'withdrawn')$$, :o2, :o3),
    'each allowed move has its audit row with the actor and reason given, and the refused ones none');

SELECT * FROM finish();
ROLLBACK;
