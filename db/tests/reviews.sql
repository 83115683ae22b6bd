-- Humans in the loop: review policies send an agent's decision to people (in_review); the
-- decision is then a proposal, and reviewers' verdicts decide. The proposer may not review, one
-- reviewer (a principal, whatever key it uses) may not approve twice, a four-eyes event needs two
-- distinct approvals (the first is an audit row of its own, a note), and one rejection ends the
-- review. Only the review functions make these steps: the generic transition refuses them.
BEGIN;
SELECT plan(50);

CREATE SCHEMA tests;
CREATE FUNCTION tests.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-06-01 09:00:00+00'::timestamptz;

-- One event type per rule under test, each with its policy.
INSERT INTO ledger.event_types (name, description) VALUES
    ('tests_always', 'always reviewed'), ('tests_amount', 'reviewed above 10000'),
    ('tests_confidence', 'reviewed below confidence 0.8'), ('tests_four_eyes', 'two approvals'),
    ('tests_unreviewed', 'no policy');
INSERT INTO ledger.review_policies (event_type, always_review, payload_field, payload_above, confidence_below,
                                    approvals_required) VALUES
    ('tests_always', true, NULL, NULL, NULL, 1),
    ('tests_amount', false, 'amount', 10000, NULL, 1),
    ('tests_confidence', false, NULL, NULL, 0.8, 1),
    ('tests_four_eyes', true, NULL, NULL, NULL, 2);

-- Who acts, each with keys of its own: an intake service; the agents agent-7 (which decides) and
-- agent-8 (which runs actions); the reviewers ada (with two reviewer keys) and bob; analyst kim, a
-- person who decides with a worker key and reviews with a reviewer key; operator ann.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
SELECT api.create_principal(p.name, p.kind)
  FROM (VALUES ('intake', 'service'), ('agent-7', 'agent'), ('agent-8', 'agent'), ('rev-ada', 'human'),
               ('rev-bob', 'human'), ('analyst-kim', 'human'), ('ops-ann', 'human')) p (name, kind);
INSERT INTO tests.keys
SELECT k.name, api.create_api_key(k.principal, k.role, k.name)
  FROM (VALUES ('intake', 'intake', 'submitter'), ('agent-7', 'agent-7', 'worker'), ('agent-8', 'agent-8', 'worker'),
               ('rev-ada', 'rev-ada', 'reviewer'), ('rev-ada-2', 'rev-ada', 'reviewer'),
               ('rev-bob', 'rev-bob', 'reviewer'), ('analyst-kim', 'analyst-kim', 'worker'),
               ('analyst-kim-review', 'analyst-kim', 'reviewer'), ('ops-ann', 'ops-ann', 'worker')) k (name, principal, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL, token uuid);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);

-- Event p_name of p_type with p_payload, claimed by the principal p_worker (its token kept).
CREATE FUNCTION tests.claimed(p_name text, p_type text, p_payload jsonb DEFAULT '{}', p_worker text DEFAULT 'agent-7')
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    v_id := (api.submit_event('cust-review', p_type, p_payload, p_now => tests.now(), p_key => tests.key('intake'))).id;
    INSERT INTO tests.fx (name, id, token)
    SELECT p_name, v_id, c.lease_token FROM api.claim_events(p_worker, 1, ARRAY[p_type], tests.now(), tests.key(p_worker)) c;
END
$$;

-- p_worker's decision on p_name: the report's (outcome, status).
CREATE FUNCTION tests.decide(p_name text, p_decision text, p_result jsonb DEFAULT NULL, p_worker text DEFAULT 'agent-7')
RETURNS text
LANGUAGE sql VOLATILE
RETURN (SELECT ROW(r.outcome, r.status)::text
          FROM api.decide_events(ARRAY[tests.id(p_name)], ARRAY[(SELECT f.token FROM tests.fx f WHERE f.name = p_name)],
                                 ARRAY[p_decision], ARRAY['agent reason'], ARRAY[p_result], true, tests.now(),
                                 tests.key(p_worker)) r);

CREATE FUNCTION tests.status(p_name text) RETURNS text LANGUAGE sql VOLATILE
RETURN (SELECT e.status::text FROM ledger.events e WHERE e.id = tests.id(p_name));

-- A verdict with the key p_key_name.
CREATE FUNCTION tests.review(p_name text, p_verdict text, p_key_name text) RETURNS text
LANGUAGE sql VOLATILE
RETURN (SELECT r.status::text FROM api.review_event(tests.id(p_name), p_verdict, 'looked at the file',
                                                     tests.now(), tests.key(p_key_name)) r);

-- The audit rows of p_name after its claim: (from, to, actor, actor kind).
CREATE FUNCTION tests.steps(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT string_agg(format('%s>%s %s/%s', a.from_status, a.to_status, a.actor, a.actor_kind), '; ' ORDER BY a.seq)
          FROM ledger.audit_log a WHERE a.event_id = tests.id(p_name) AND a.version > 2);

SELECT tests.claimed('always', 'tests_always'), tests.claimed('big', 'tests_amount', '{"amount": 25000}'),
       tests.claimed('small', 'tests_amount', '{"amount": 10000}'),
       tests.claimed('unsure', 'tests_confidence'), tests.claimed('sure', 'tests_confidence'),
       tests.claimed('silent', 'tests_confidence'), tests.claimed('free', 'tests_unreviewed'),
       tests.claimed('four', 'tests_four_eyes'), tests.claimed('vetoed', 'tests_four_eyes');

-- 9 Policy evaluation: each kind of rule, and the edges.
SELECT is(tests.decide('always', 'approved'), '(done,in_review)', 'always_review: an approval goes to review');
SELECT is(tests.decide('big', 'approved'), '(done,in_review)', 'amount 25000 > 10000: the approval goes to review');
SELECT is(tests.decide('small', 'approved'), '(done,approved)', 'amount 10000 is not above 10000: the approval takes effect');
SELECT is(tests.decide('unsure', 'rejected', '{"confidence": 0.55}'), '(done,in_review)',
          'confidence 0.55 < 0.8: even a rejection goes to review');
SELECT is(tests.decide('sure', 'approved', '{"confidence": 0.93}'), '(done,approved)', 'confidence 0.93: no review');
SELECT is(tests.decide('silent', 'approved', '{"score": 1}'), '(done,in_review)',
          'no confidence given where the policy asks for one: reviewed');
SELECT is(tests.decide('free', 'approved'), '(done,approved)', 'a type without a policy is never reviewed');
-- Fail closed: a threshold the database cannot read is reviewed, never waved through.
SELECT tests.claimed('stringy', 'tests_amount', '{"amount": "250000"}'), tests.claimed('absent', 'tests_amount', '{}');
SELECT is(tests.decide('stringy', 'approved'), '(done,in_review)', 'an amount given as a string goes to review');
SELECT is(tests.decide('absent', 'approved'), '(done,in_review)', 'an amount left out goes to review');
SELECT is((SELECT a.details->>'review_because' FROM ledger.audit_log a WHERE a.event_id = tests.id('stringy')
            ORDER BY a.seq DESC LIMIT 1),
          'amount is string, not a number; above 10000 is reviewed', 'and the audit row says why');
SELECT is(tests.decide('four', 'approved'), '(done,in_review)', 'a four-eyes type goes to review');
SELECT is(tests.decide('vetoed', 'approved'), '(done,in_review)', 'another four-eyes event goes to review');

-- 5 What going to review records.
SELECT is((SELECT ROW(e.proposed_status, e.proposed_by, e.approvals_required, e.approved_by, e.lease_token IS NULL,
                      e.attempts, e.review_started_at)::text FROM ledger.events e WHERE e.id = tests.id('big')),
          ROW('approved'::ledger.event_status, 'agent-7', 1::smallint, '{}'::text[], true, 0, tests.now())::text,
          'the event keeps the proposal and its proposer, holds no lease, and its action has not started');
SELECT is((SELECT ROW(a.from_status, a.to_status, a.actor, a.reason, a.details->>'proposal', a.details->>'review_because')::text
             FROM ledger.audit_log a WHERE a.event_id = tests.id('big') ORDER BY a.seq DESC LIMIT 1),
          ROW('processing'::ledger.event_status, 'in_review'::ledger.event_status, 'agent-7', 'agent reason', 'approved',
              'amount 25000 is above 10000')::text,
          'the audit row of the proposal names the agent, its reason, the proposal and why it is reviewed');
SELECT is(tests.decide('big', 'approved'), '(already_done,in_review)',
          'the same decision report sent again answers already_done');
SELECT is((SELECT count(*)::integer FROM ledger.audit_log WHERE event_id = tests.id('big')), 3,
          'and writes nothing more');
SELECT is((SELECT count(*)::integer FROM api.claim_actions('agent-7', 10, ARRAY['tests_amount', 'tests_always'], tests.now(),
                                                           tests.key('agent-7'))
            WHERE id IN (tests.id('big'), tests.id('always'))), 0,
          'an event in review offers no action to workers');

-- 6 The generic transition cannot make review steps.
SELECT throws_ok(format('SELECT api.transition_event(%s, %L, %L, NULL, NULL, %L, NULL, %L)',
                        tests.id('big'), 'approved', 'looks fine', tests.now(), tests.key('ops-ann')),
                 'AL003', format('event %s: in_review to approved is a review step', tests.id('big')),
                 'api.transition_event refuses to approve an event in review (AL003)');
SELECT tests.claimed('direct', 'tests_always');
SELECT throws_ok(format('SELECT api.transition_event(%s, %L, NULL, NULL, NULL, %L, %L, %L)',
                        tests.id('direct'), 'in_review', tests.now(),
                        (SELECT token FROM tests.fx WHERE name = 'direct'), tests.key('agent-7')),
                 'AL003', NULL, 'api.transition_event refuses to send an event to review by name (AL003)');
SELECT is((SELECT r.status::text FROM api.transition_event(tests.id('direct'), 'rejected', 'no',
                                                           NULL, NULL, tests.now(),
                                                           (SELECT token FROM tests.fx WHERE name = 'direct'),
                                                           tests.key('agent-7')) r),
          'in_review', 'a decision through api.transition_event follows the policy too');
SELECT tests.id('free') AS free_id \gset
SET LOCAL ROLE agentledger_owner;
SELECT throws_ok(format('UPDATE ledger.events SET version = version + 1, change_reason = %L WHERE id = %s',
                        'a note', :free_id),
                 'AL003', NULL, 'as the owner, a note where ledger.transitions has no same-status row is refused (AL003)');
RESET ROLE;
SELECT throws_ok(format('UPDATE ledger.events SET version = version + 1, change_reason = %L WHERE id = %s',
                        'a note', tests.id('big')),
                 'AL012', NULL, 'a raw UPDATE (not the api functions) cannot make a note (AL012)');

-- 10 Who may review, and what a verdict needs.
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('big'), 'approved', 'mine', tests.now(),
                        tests.key('agent-7')),
                 '42501', NULL,
                 'the proposing agent cannot review its own proposal: its worker key is no reviewer key (42501)');
SELECT tests.claimed('own', 'tests_always', p_worker => 'analyst-kim');
SELECT is(tests.decide('own', 'approved', p_worker => 'analyst-kim'), '(done,in_review)',
          'the fixture: analyst kim, a person, proposes a decision with her worker key');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('own'), 'approved', 'mine', tests.now(),
                        tests.key('analyst-kim-review')),
                 'AL017', format('event %s: analyst-kim proposed this decision and cannot review it', tests.id('own')),
                 'the proposer cannot review its own proposal, even with a reviewer key of its own (AL017)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, NULL, %L, %L)', tests.id('big'), 'approved', tests.now(),
                        tests.key('rev-ada')),
                 'AL008', NULL, 'a verdict without a reason is refused (AL008)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('big'), 'maybe', 'hmm', tests.now(),
                        tests.key('rev-ada')),
                 'AL020', 'unknown verdict ''maybe''', 'a verdict is approved or rejected (AL020)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('small'), 'approved', 'ok', tests.now(),
                        tests.key('rev-ada')),
                 'AL003', format('event %s is approved; only an event in review can be reviewed', tests.id('small')),
                 'an event not in review cannot be reviewed (AL003)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', -1, 'approved', 'ok', tests.now(), tests.key('rev-ada')),
                 'AL001', NULL, 'an unknown event cannot be reviewed (AL001)');
SELECT is(tests.review('big', 'approved', 'rev-ada'), 'approved', 'one approval decides a one-approval review');
SELECT is(tests.steps('big'), 'processing>in_review agent-7/agent; in_review>approved rev-ada/human',
          'the history links the proposal and the verdict, each with its actor');
SELECT is((SELECT a.details FROM ledger.audit_log a WHERE a.event_id = tests.id('big') ORDER BY a.seq DESC LIMIT 1),
          '{"verdict": "approved", "proposal": "approved", "approved_by": ["rev-ada"], "proposed_by": "agent-7", "approvals_required": 1}'::jsonb,
          'the verdict''s audit row carries the proposal it decided and who approved');

-- 10 Four-eyes.
SELECT is(tests.review('four', 'approved', 'rev-ada'), 'in_review', 'the first of two approvals leaves the event in review');
SELECT is(tests.steps('four'), 'processing>in_review agent-7/agent; in_review>in_review rev-ada/human',
          'the first approval is an audit row of its own (a note)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('four'), 'approved', 'again', tests.now(),
                        tests.key('rev-ada')),
                 'AL018', format('event %s: rev-ada has already approved it', tests.id('four')),
                 'the same reviewer cannot approve twice (AL018)');
SELECT throws_ok(format('SELECT api.review_event(%s, %L, %L, %L, %L)', tests.id('four'), 'approved', 'me too', tests.now(),
                        tests.key('rev-ada-2')),
                 'AL018', format('event %s: rev-ada has already approved it', tests.id('four')),
                 'nor with another reviewer key of hers: approvals count principals, not keys (AL018)');
SELECT is(tests.review('four', 'approved', 'rev-bob'), 'approved', 'a second, distinct approval decides it');
SELECT is(tests.steps('four'),
          'processing>in_review agent-7/agent; in_review>in_review rev-ada/human; in_review>approved rev-bob/human',
          'proposal, first approval and second approval are three audit rows');
SELECT is(tests.review('vetoed', 'approved', 'rev-ada'), 'in_review', 'a first approval of the other four-eyes event');
SELECT is(tests.review('vetoed', 'rejected', 'rev-bob'), 'rejected', 'one rejection ends the review');
SELECT is((SELECT approved_by FROM ledger.events WHERE id = tests.id('vetoed')), '{rev-ada}'::text[],
          'the approval given before the rejection stays on record');
SELECT is((SELECT ok FROM api.verify_audit(tests.id('four'))), true, 'the chain with a note verifies');

-- 4 After the review: the follow-up action is offered, and the event completes.
CREATE TABLE tests.actions AS
SELECT c.id, c.lease_token, c.status::text AS status, c.attempts
  FROM api.claim_actions('agent-8', 10, NULL, tests.now(), tests.key('agent-8')) c
 WHERE c.id IN (tests.id('big'), tests.id('four'), tests.id('vetoed'));
SELECT is((SELECT array_agg(ROW(status, attempts)::text ORDER BY id) FROM tests.actions),
          ARRAY['(approved,1)', '(approved,1)', '(rejected,1)'],
          'reviewed events are offered for their action, each on its first attempt');
SELECT is((SELECT array_agg(r.outcome ORDER BY r.event_id)
             FROM api.complete_events(ARRAY(SELECT id FROM tests.actions ORDER BY id),
                                      ARRAY(SELECT lease_token FROM tests.actions ORDER BY id), NULL, tests.now(),
                                      tests.key('agent-8')) r),
          ARRAY['done', 'done', 'done'], 'and complete');
SELECT is((SELECT ok FROM api.verify_audit()), true, 'the whole trail verifies');
SELECT results_eq(
    $$SELECT id, proposed_status::text, proposed_by, proposal_reason FROM api.list_reviews('tests_confidence')$$,
    format($$VALUES (%s::bigint, 'rejected', 'agent-7', 'agent reason'), (%s::bigint, 'approved', 'agent-7', 'agent reason')$$,
           tests.id('unsure'), tests.id('silent')),
    'api.list_reviews: the queue of a type, oldest first, with each proposal');

-- 4 Policies are checked data.
SELECT throws_ok($$INSERT INTO ledger.review_policies (event_type, approvals_required) VALUES ('fraud_alert', 0)$$,
                 '23514', NULL, 'a policy needs at least one approval');
SELECT throws_ok($$INSERT INTO ledger.review_policies (event_type, payload_field) VALUES ('fraud_alert', 'amount')$$,
                 '23514', NULL, 'a payload field needs its threshold');
SELECT throws_ok($$INSERT INTO ledger.review_policies (event_type, confidence_below) VALUES ('fraud_alert', 1.5)$$,
                 '23514', NULL, 'a confidence threshold lies between 0 and 1');
SELECT throws_ok($$INSERT INTO ledger.review_policies (event_type, always_review) VALUES ('no_such_type', true)$$,
                 '23503', NULL, 'a policy is for a registered event type');

SELECT * FROM finish();
ROLLBACK;
