-- Deadlines and escalation: api.mark_deadline_breaches marks, once each, the events not decided
-- within their type's decide_within or not reviewed within review_within. Each breach is an audit
-- row of its own (a note that keeps the status, by the system); a worker holding the event keeps
-- its lease; the statistics count breaches per type. Time is an input: the clock moves here.
BEGIN;
SELECT plan(17);

CREATE SCHEMA tests;
CREATE FUNCTION tests.at(p_minutes numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-07-01 09:00:00+00'::timestamptz + p_minutes * interval '1 minute';

INSERT INTO ledger.event_types (name, description, decide_within, review_within) VALUES
    ('tests_timed', 'decide within an hour, review within four', interval '1 hour', interval '4 hours'),
    ('tests_untimed', 'no deadlines', NULL, NULL);
INSERT INTO ledger.review_policies (event_type, always_review) VALUES ('tests_timed', true);

-- The principals: an intake service, a worker agent, the deadline watch (a service running the
-- marking with a worker key) and a human reviewer; each acts with a key of its own name.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, p.kind)).name, p.role)
  FROM (VALUES ('intake', 'service', 'submitter'), ('agent-9', 'agent', 'worker'),
               ('deadline-watch', 'service', 'worker'), ('rev-ada', 'human', 'reviewer')) p (name, kind, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL, token uuid);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT f.token FROM tests.fx f WHERE f.name = p_name);
CREATE FUNCTION tests.submitted(p_name text, p_type text) RETURNS void LANGUAGE sql
BEGIN ATOMIC
    INSERT INTO tests.fx (name, id)
    SELECT p_name, (api.submit_event('cust-deadlines', p_type, '{}', p_now => tests.at(0),
                                       p_key => tests.key('intake'))).id;
END;
-- The breaches marked at minute p_minutes, as 'name deadline due+minutes'.
CREATE FUNCTION tests.mark(p_minutes numeric) RETURNS text[] LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT coalesce(array_agg(format('%s %s due+%s', f.name, b.deadline,
                                     (extract(epoch FROM b.due_at - tests.at(0)) / 60)::integer) ORDER BY f.name), '{}')
      FROM api.mark_deadline_breaches(1000, tests.at(p_minutes), tests.key('deadline-watch')) b
      JOIN tests.fx f ON f.id = b.event_id;
END;
CREATE FUNCTION tests.last_row(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT format('%s>%s %s/%s: %s', a.from_status, a.to_status, a.actor, a.actor_kind, a.reason)
          FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name) ORDER BY a.seq DESC LIMIT 1);

-- 'held' and 'proposed' are claimed at minute 1; 'proposed' is decided at minute 2 and goes to
-- review (the policy); 'waiting' and 'free' stay queued.
SELECT tests.submitted('held', 'tests_timed'), tests.submitted('proposed', 'tests_timed');
UPDATE tests.fx f SET token = c.lease_token
  FROM api.claim_events('agent-9', 2, ARRAY['tests_timed'], tests.at(1), tests.key('agent-9')) c WHERE c.id = f.id;
SELECT tests.submitted('waiting', 'tests_timed'), tests.submitted('free', 'tests_untimed');
SELECT is((SELECT r.status::text FROM api.decide_events(ARRAY[tests.id('proposed')], ARRAY[tests.token('proposed')],
                                                        '{approved}', NULL, NULL, true, tests.at(2),
                                                        tests.key('agent-9')) r),
          'in_review', 'the fixture: one event goes to review at minute 2');

-- 6 Decision deadlines: not before they pass, then once each.
SELECT is(tests.mark(59), '{}'::text[], 'nothing is late at minute 59');
SELECT is(tests.mark(61), ARRAY['held decide due+60', 'waiting decide due+60'],
          'at minute 61 the undecided events of the timed type breach their decision deadline (the one in review does not)');
SELECT is(tests.mark(62), '{}'::text[], 'a breach is marked once');
SELECT is(tests.last_row('waiting'), format('queued>queued deadline-watch/system: decide deadline passed at %s', tests.at(60)),
          'the breach is an audit row of its own that keeps the status, by the system, with the deadline');
SELECT is((SELECT ROW(e.status, e.version, e.decide_breached_at)::text FROM ledger.events e WHERE e.id = tests.id('waiting')),
          ROW('queued'::ledger.event_status, 2, tests.at(61))::text, 'the event stays queued; its version moves by one');
SELECT is(tests.last_row('held'), format('processing>processing deadline-watch/system: decide deadline passed at %s', tests.at(60)),
          'an event a worker holds is noted too');

-- 2 The worker still holds its lease and may decide.
SELECT is((SELECT ROW(r.outcome, r.status)::text FROM api.decide_events(ARRAY[tests.id('held')], ARRAY[tests.token('held')],
                                                                       '{rejected}', NULL, NULL, true, tests.at(63),
                                                                       tests.key('agent-9')) r),
          '(done,in_review)', 'the holder''s report after the breach is applied (and reviewed, per the policy)');
SELECT is((SELECT count(*)::integer FROM ledger.audit_log WHERE event_id = tests.id('held')), 4,
          'submit, claim, breach, proposal: four audit rows');

-- 5 Review deadlines: four hours after going to review; each review has its own.
SELECT is(tests.mark(2 + 239), '{}'::text[], 'the review started at minute 2 is not late at 4 h - 1 min');
SELECT is(tests.mark(2 + 241), ARRAY['proposed review due+242'], 'at 4 h + 1 min it breaches its review deadline');
SELECT is(tests.mark(63 + 241), ARRAY['held review due+303'], 'the other review breaches four hours after it started');
SELECT is(tests.mark(400), '{}'::text[], 'each review deadline is marked once');
SELECT is((SELECT r.status::text FROM api.review_event(tests.id('proposed'), 'approved', 'late but fine', tests.at(401),
                                                       tests.key('rev-ada')) r),
          'approved', 'a reviewer may still decide a late review');

-- 3 The statistics and the chains.
SELECT is((SELECT jsonb_agg(b ORDER BY b->>'deadline') FROM jsonb_array_elements(api.queue_stats(tests.at(402))->'deadline_breaches') b
            WHERE b->>'event_type' = 'tests_timed'),
          '[{"events": 2, "deadline": "decide", "event_type": "tests_timed", "open": 1},
            {"events": 2, "deadline": "review", "event_type": "tests_timed", "open": 1}]'::jsonb,
          'queue_stats counts breaches per type and deadline, and those still open (waiting is undecided, held still in review)');
SELECT is((SELECT count(*)::integer FROM ledger.events WHERE id = tests.id('free') AND decide_breached_at IS NULL), 1,
          'a type without deadlines is never late');
SELECT is((SELECT bool_and(v.ok) FROM tests.fx f, api.verify_audit(f.id) v), true, 'every chain with notes verifies');

SELECT * FROM finish();
ROLLBACK;
