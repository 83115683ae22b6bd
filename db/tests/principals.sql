-- Principals: the database decides who acts, from an API key it verifies (sha256, valid, of an active
-- principal, with a role the function takes) or from the session's login (mapped to a principal).
-- Four-eyes compares principals; a lease is held by a principal and its token; keys may be scoped to
-- event types and customers; idempotency keys are per submitting principal; every audit row names
-- the principal, its kind, the key and the login, and the key is part of the row's hash.
BEGIN;
SELECT plan(66);

-- Fixtures ------------------------------------------------------------------------------------------
CREATE SCHEMA tests;
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-09-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';

-- The SQLSTATE p_sql raises, or 'none': for sessions that cannot write pgTAP's own tables.
CREATE FUNCTION tests.sqlstate_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

INSERT INTO ledger.event_types (name, description) VALUES
    ('tests_p_work', 'events to submit'), ('tests_p_lease', 'the lease checks'), ('tests_p_review', 'four-eyes'),
    ('tests_p_scoped', 'the type a scoped key may use'), ('tests_p_unscoped', 'a type outside that scope');
INSERT INTO ledger.review_policies (event_type, always_review, approvals_required) VALUES ('tests_p_review', true, 2);

-- The principals, and their keys by key name.
SELECT api.create_principal('dba', 'human', session_user);
SELECT api.create_principal(p.name, p.kind)
  FROM (VALUES ('intake', 'service'), ('retail-intake', 'service'), ('bot-a', 'agent'), ('bot-b', 'agent'),
               ('loan-bot', 'agent'), ('gone', 'agent'), ('alice', 'human'), ('bob', 'human')) p (name, kind);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT k.name, api.create_api_key(k.principal, k.role, k.name, k.event_types, k.customers)
  FROM (VALUES ('intake', 'intake', 'submitter', NULL::text[], NULL::text),
               ('retail-intake', 'retail-intake', 'submitter', NULL, 'retail-%'),
               ('bot-a', 'bot-a', 'worker', NULL, NULL), ('bot-a-old', 'bot-a', 'worker', NULL, NULL),
               ('bot-b', 'bot-b', 'worker', NULL, NULL),
               ('loan-bot', 'loan-bot', 'worker', '{tests_p_scoped}', NULL),
               ('gone', 'gone', 'worker', NULL, NULL),
               ('alice', 'alice', 'reviewer', NULL, NULL), ('alice-2', 'alice', 'reviewer', NULL, NULL),
               ('alice-worker', 'alice', 'worker', NULL, NULL),
               ('bob', 'bob', 'reviewer', NULL, NULL)) k (name, principal, role, event_types, customers);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);
SELECT api.revoke_api_key('bot-a-old', 'replaced');
SELECT api.deactivate_principal('gone', 'agent retired');

-- Events by fixture name, with the lease token of their claim.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL, token uuid);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);
CREATE FUNCTION tests.token(p_name text) RETURNS uuid LANGUAGE sql STABLE
RETURN (SELECT f.token FROM tests.fx f WHERE f.name = p_name);
-- Submits p_name of p_type (by intake) and claims it with the worker key p_key_name, as worker
-- instance host-1/pid-7.
CREATE FUNCTION tests.claimed(p_name text, p_type text, p_key_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := (api.submit_event('cust-p', p_type, '{}', p_now => tests.at(0), p_key => tests.key('intake'))).id;
BEGIN
    INSERT INTO tests.fx (name, id, token)
    SELECT p_name, c.id, c.lease_token
      FROM api.claim_events('host-1/pid-7', 1, ARRAY[p_type], tests.at(0), tests.key(p_key_name)) c WHERE c.id = v_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'fixture %: the claim did not take it', p_name;
    END IF;
END
$$;
-- The answer of a report p_call on one event: outcome and code.
CREATE FUNCTION tests.report(p_call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_answer text;
BEGIN
    EXECUTE format('SELECT concat_ws('' '', r.outcome, r.code) FROM %s r', p_call) INTO v_answer;
    RETURN v_answer;
END
$$;

-- Identity: a key acts as its principal; a login as the principal it is mapped to ----------------
INSERT INTO tests.fx (name, id)
SELECT 'keyed', (api.submit_event('cust-p', 'tests_p_work', '{"n": 1}', p_now => tests.at(0),
                                  p_key => tests.key('intake'))).id;
INSERT INTO tests.fx (name, id)
SELECT 'by-login', (api.submit_event('cust-p', 'tests_p_work', '{"n": 2}', p_now => tests.at(0))).id;
SELECT results_eq(
    $$SELECT a.actor, a.actor_kind, a.api_key, a.db_user FROM ledger.audit_log a WHERE a.event_id = tests.id('keyed')$$,
    $$VALUES ('intake'::text, 'system'::ledger.actor_kind, 'intake'::text, session_user::text COLLATE "default")$$,
    'a change made with a key is audited as its principal (a service acts as system), naming the key and the login');
SELECT results_eq(
    $$SELECT e.changed_by, e.changed_by_kind, e.changed_by_key, e.submitted_by FROM ledger.events e
       WHERE e.id = tests.id('keyed')$$,
    $$VALUES ('intake'::text, 'system'::ledger.actor_kind, 'intake'::text, 'intake'::text)$$,
    'the event records the principal, its kind and the key of its latest change, and who submitted it');
SELECT results_eq(
    $$SELECT a.actor, a.actor_kind, a.api_key, a.db_user FROM ledger.audit_log a WHERE a.event_id = tests.id('by-login')$$,
    $$VALUES ('dba'::text, 'human'::ledger.actor_kind, NULL::text, session_user::text COLLATE "default")$$,
    'a change made without a key is audited as the principal the session''s login acts for, with no key');
SELECT is((SELECT h.api_key FROM api.event_history(tests.id('keyed')) h), 'intake',
    'api.event_history shows the key of each change');

SELECT throws_ok($$SELECT api.submit_event('cust-p', 'tests_p_work', '{}', p_key => 'al_' || repeat('0', 64))$$,
    '28000', NULL, 'an unknown key is not authenticated (28000), and the call is not made as the login instead');
SELECT throws_ok($$SELECT api.submit_event('cust-p', 'tests_p_work', '{}', p_key => 'not a key')$$,
    '28000', NULL, 'a malformed key is not authenticated (28000)');
SELECT throws_ok($$SELECT api.claim_events('w', 1, NULL, p_key => tests.key('bot-a-old'))$$,
    '28000', NULL, 'a revoked key is not authenticated (28000)');
SELECT throws_ok($$SELECT api.claim_events('w', 1, NULL, p_key => tests.key('gone'))$$,
    '28000', NULL, 'a valid key of a deactivated principal is not authenticated (28000)');
SELECT is_empty($$SELECT * FROM api.authenticate_api_key(tests.key('gone'))$$,
    'api.authenticate_api_key finds no key of a deactivated principal');
SELECT throws_ok($$SELECT api.claim_events('w', 1, NULL, p_key => tests.key('intake'))$$,
    '42501', NULL, 'a submitter key may not claim (42501)');
SELECT throws_ok($$SELECT api.submit_event('cust-p', 'tests_p_work', '{}', p_key => tests.key('bob'))$$,
    '42501', NULL, 'a reviewer key may not submit (42501)');
SELECT throws_ok($$SELECT api.review_event(tests.id('keyed'), 'approved', 'fine', p_key => tests.key('bot-a'))$$,
    '42501', NULL, 'a worker key may not review (42501)');

-- A login of its own: unmapped it acts for nobody; mapped it acts for its principal, and no more once
-- that principal is deactivated. The session user is what counts (SET ROLE would not change it).
CREATE ROLE tests_p_stranger LOGIN IN ROLE agentledger_api;
GRANT USAGE ON SCHEMA tests TO tests_p_stranger;
SET SESSION AUTHORIZATION tests_p_stranger;
SELECT session_user AS stranger_session,
       tests.sqlstate_of($$SELECT api.submit_event('cust-p', 'tests_p_work', '{}')$$) AS stranger_unmapped \gset
RESET SESSION AUTHORIZATION;
SELECT is(:'stranger_session'::text, 'tests_p_stranger', 'the fixture: the next calls ran with tests_p_stranger as the session user');
SELECT is(:'stranger_unmapped'::text, '28000', 'a login mapped to no principal acts for nobody (28000)');

SELECT api.create_principal('login-bot', 'agent', 'tests_p_stranger');
SELECT tests.id('keyed') AS keyed_id \gset
SET SESSION AUTHORIZATION tests_p_stranger;
SELECT (api.submit_event('cust-p', 'tests_p_work', '{"n": 3}')).id AS stranger_event,
       tests.sqlstate_of(format($$SELECT api.review_event(%s, 'approved', 'fine')$$, :keyed_id)) AS stranger_review \gset
RESET SESSION AUTHORIZATION;
SELECT results_eq(
    format('SELECT a.actor, a.actor_kind, a.api_key, a.db_user FROM ledger.audit_log a WHERE a.event_id = %s', :stranger_event),
    $$VALUES ('login-bot'::text, 'agent'::ledger.actor_kind, NULL::text, 'tests_p_stranger'::text)$$,
    'a mapped login acts for its principal: the audit row names the principal and the login');
SELECT is(:'stranger_review'::text, '42501', 'a login of a principal that is not a person cannot review (42501)');

SELECT api.deactivate_principal('login-bot', 'tests');
SET SESSION AUTHORIZATION tests_p_stranger;
SELECT tests.sqlstate_of($$SELECT api.submit_event('cust-p', 'tests_p_work', '{}')$$) AS stranger_deactivated \gset
RESET SESSION AUTHORIZATION;
SELECT is(:'stranger_deactivated'::text, '28000', 'the login of a deactivated principal acts for nobody (28000)');

-- Four-eyes by principal ----------------------------------------------------------------------------
SELECT throws_ok($$SELECT api.create_api_key('bot-a', 'reviewer', 'bot-a-review')$$, '42501', NULL,
    'an agent may not hold a reviewer key (42501)');
SELECT throws_ok($$SELECT api.create_api_key('intake', 'reviewer', 'intake-review')$$, '42501', NULL,
    'nor may a service (42501)');
-- r1 is proposed by alice (a person, with her worker key), r2 by bot-a; both need two approvals.
SELECT tests.claimed('r1', 'tests_p_review', 'alice-worker'), tests.claimed('r2', 'tests_p_review', 'bot-a');
SELECT api.decide_events(ARRAY[tests.id('r1')], ARRAY[tests.token('r1')], '{approved}', p_now => tests.at(1),
                         p_key => tests.key('alice-worker'));
SELECT api.decide_events(ARRAY[tests.id('r2')], ARRAY[tests.token('r2')], '{approved}', p_now => tests.at(1),
                         p_key => tests.key('bot-a'));
SELECT results_eq(
    $$SELECT e.status::text, e.proposed_by FROM ledger.events e WHERE e.id IN (tests.id('r1'), tests.id('r2')) ORDER BY e.id$$,
    $$VALUES ('in_review', 'alice'), ('in_review', 'bot-a')$$,
    'the fixture: both proposals wait for review, each naming its proposing principal');
SELECT throws_ok(format($$SELECT api.review_event(%s, 'approved', 'mine', p_key => %L)$$, tests.id('r1'), tests.key('alice')),
    'AL017', NULL, 'the proposing principal cannot review its proposal, even with a reviewer key of its own (AL017)');
SELECT is((SELECT r.status::text FROM api.review_event(tests.id('r2'), 'approved', 'checked', tests.at(2), tests.key('alice')) r),
    'in_review', 'a first approval leaves a four-eyes event in review');
SELECT throws_ok(format($$SELECT api.review_event(%s, 'approved', 'checked again', p_key => %L)$$, tests.id('r2'), tests.key('alice-2')),
    'AL018', NULL, 'one principal approves once, whichever of its keys it uses (AL018)');
SELECT is((SELECT r.status::text FROM api.review_event(tests.id('r2'), 'approved', 'agreed', tests.at(3), tests.key('bob')) r),
    'approved', 'a second principal''s approval decides it');
SELECT results_eq(
    $$SELECT e.approved_by FROM ledger.events e WHERE e.id = tests.id('r2')$$,
    $$VALUES ('{alice,bob}'::text[])$$,
    'approved_by lists the two principals');
SELECT results_eq(
    $$SELECT a.actor, a.actor_kind, a.api_key FROM ledger.audit_log a WHERE a.event_id = tests.id('r2') AND a.version > 3
       ORDER BY a.seq$$,
    $$VALUES ('alice'::text, 'human'::ledger.actor_kind, 'alice'::text), ('bob', 'human', 'bob')$$,
    'each approval is audited as its principal with the key used');

-- Leases: held by a principal and its token ---------------------------------------------------------
SELECT tests.claimed('l1', 'tests_p_lease', 'bot-a');
SELECT results_eq(
    $$SELECT e.lease_owner, e.changed_by_key, a.actor, a.api_key, a.details
        FROM ledger.events e JOIN ledger.audit_log a ON a.event_id = e.id AND a.version = e.version
       WHERE e.id = tests.id('l1')$$,
    $$VALUES ('bot-a'::text, 'bot-a'::text, 'bot-a'::text, 'bot-a'::text, '{"instance": "host-1/pid-7"}'::jsonb)$$,
    'a claim''s lease is held by the principal of the key; the worker instance is a label on the claim''s audit row');
SELECT (SELECT ROW(e.status, e.version, e.lease_owner, e.lease_token, e.lease_expires_at)::text
          FROM ledger.events e WHERE e.id = tests.id('l1')) AS l1_before \gset
SELECT is(tests.report($$api.heartbeat_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], tests.at(5),
                                              tests.key('bot-b'))$$),
    'refused AL009', 'another principal holding the lease''s valid token cannot renew it (AL009)');
SELECT is((SELECT r.message FROM api.heartbeat_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], tests.at(5),
                                                      tests.key('bot-b')) r),
    format('event %s: this lease is held by bot-a, not by bot-b', tests.id('l1')),
    'and the refusal says who holds the lease and who asked');
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], '{approved}',
                                           p_now => tests.at(5), p_key => tests.key('bot-b'))$$),
    'refused AL009', 'nor decide it (AL009)');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')],
                                             p_now => tests.at(5), p_key => tests.key('bot-b'))$$),
    'refused AL009', 'nor complete it (AL009)');
SELECT is(tests.report($$api.fail_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], '{"stolen"}',
                                         p_now => tests.at(5), p_key => tests.key('bot-b'))$$),
    'refused AL009', 'nor fail it (AL009)');
SELECT is(tests.report($$api.release_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')],
                                            p_now => tests.at(5), p_key => tests.key('bot-b'))$$),
    'refused AL009', 'nor release it (AL009)');
SELECT throws_ok($$SELECT api.transition_event(tests.id('l1'), 'approved', p_now => tests.at(5),
                                               p_lease_token => tests.token('l1'), p_key => tests.key('bot-b'))$$,
    'AL009', NULL, 'nor move it through api.transition_event (AL009)');
SELECT is((SELECT ROW(e.status, e.version, e.lease_owner, e.lease_token, e.lease_expires_at)::text
             FROM ledger.events e WHERE e.id = tests.id('l1')), :'l1_before',
    'the refused reports left the event and its lease as they were');
SELECT is(tests.report($$api.heartbeat_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], tests.at(6),
                                              tests.key('bot-a'))$$),
    'done', 'the holder renews its lease');
SELECT is(tests.report($$api.decide_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')], '{approved}',
                                           p_now => tests.at(7), p_key => tests.key('bot-a'))$$),
    'done', 'the holder decides, keeping the lease to run the action');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')],
                                             p_now => tests.at(8), p_key => tests.key('bot-b'))$$),
    'refused AL009', 'another principal cannot complete the action under the holder''s token (AL009)');
SELECT is(tests.report($$api.complete_events(ARRAY[tests.id('l1')], ARRAY[tests.token('l1')],
                                             p_now => tests.at(8), p_key => tests.key('bot-a'))$$),
    'done', 'the holder completes it');

INSERT INTO tests.fx (name, id)
SELECT 'l2', (api.submit_event('cust-p', 'tests_p_work', '{}', p_now => tests.at(0), p_key => tests.key('intake'))).id;
SELECT throws_ok($$SELECT api.transition_event(tests.id('l2'), 'processing', p_now => tests.at(10), p_key => tests.key('alice'))$$,
    '42501', NULL, 'api.transition_event refuses a reviewer key (42501): reviewers do not record outcomes');
SELECT tests.claimed('l3', 'tests_p_lease', 'bot-a');
SELECT api.decide_events(ARRAY[tests.id('l3')], ARRAY[tests.token('l3')], '{approved}', p_keep_lease => false,
                         p_now => tests.at(1), p_key => tests.key('bot-a'));
SELECT throws_ok($$SELECT api.transition_event(tests.id('l3'), 'completed', p_now => tests.at(10), p_key => tests.key('bot-a'))$$,
    'AL009', NULL, 'an approved event that holds no lease is not reported on, even by its decider: claim its action first (AL009)');
SELECT throws_ok($$SELECT api.transition_event(tests.id('l3'), 'failed', 'gave up', p_now => tests.at(10),
                                               p_key => tests.key('bot-b'))$$,
    'AL009', NULL, 'nor by anyone else (AL009)');

-- Scopes --------------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT api.submit_event('cust-p', 'tests_p_unscoped', '{}', p_key => tests.key('loan-bot'))$$,
    '42501', NULL, 'a key limited to types cannot submit another type (42501)');
INSERT INTO tests.fx (name, id)
SELECT 's-unscoped', (api.submit_event('cust-p', 'tests_p_unscoped', '{}', p_now => tests.at(0), p_key => tests.key('intake'))).id;
SELECT lives_ok($$INSERT INTO tests.fx (name, id)
                  SELECT 's-scoped', (api.submit_event('cust-p', 'tests_p_scoped', '{}', p_now => tests.at(0),
                                                       p_key => tests.key('loan-bot'))).id$$,
    'it submits its own type');
SELECT throws_ok($$SELECT api.claim_events('w', 1, '{tests_p_unscoped}', tests.at(1), tests.key('loan-bot'))$$,
    '42501', NULL, 'a key limited to types cannot claim another type (42501)');
SELECT is((SELECT array_agg(c.id) FROM api.claim_events('w', 10, NULL, tests.at(1), tests.key('loan-bot')) c),
          ARRAY[tests.id('s-scoped')],
    'asking for no type, it claims only its own types, not the other type queued before');
SELECT throws_ok($$SELECT api.transition_event(tests.id('s-unscoped'), 'processing', p_now => tests.at(1),
                                               p_key => tests.key('loan-bot'))$$,
    '42501', NULL, 'nor can it claim an event of another type through api.transition_event (42501)');
SELECT throws_ok($$SELECT api.submit_event('corp-1', 'tests_p_work', '{}', p_key => tests.key('retail-intake'))$$,
    '42501', NULL, 'a key limited to customers retail-% cannot submit for corp-1 (42501)');
SELECT lives_ok($$SELECT api.submit_event('retail-7', 'tests_p_work', '{}', p_key => tests.key('retail-intake'))$$,
    'it submits for retail-7');
SELECT throws_ok($$SELECT api.submit_events('[{"customer_id": "retail-8", "event_type": "tests_p_work", "payload": {}},
                                              {"customer_id": "corp-1", "event_type": "tests_p_work", "payload": {}}]',
                                           p_key => tests.key('retail-intake'))$$,
    '42501', NULL, 'a batch with one item outside the key''s customers is refused (42501)');

-- Idempotency per principal -------------------------------------------------------------------------
INSERT INTO tests.fx (name, id)
SELECT 'i1', (api.submit_event('idem-cust', 'tests_p_work', '{"a": 1}', p_idempotency_key => 'order-1',
                               p_key => tests.key('intake'))).id;
SELECT results_eq(
    $$SELECT s.created, s.id <> tests.id('i1')
        FROM api.submit_event('idem-cust', 'tests_p_work', '{"a": 1}', p_idempotency_key => 'order-1',
                              p_key => tests.key('bot-a')) s$$,
    $$VALUES (true, true)$$,
    'another principal using the same idempotency key for the same customer gets an event of its own');
SELECT results_eq(
    $$SELECT s.created, s.id FROM api.submit_event('idem-cust', 'tests_p_work', '{"a": 1}', p_idempotency_key => 'order-1',
                                                   p_key => tests.key('intake')) s$$,
    $$VALUES (false, tests.id('i1'))$$,
    'the same principal repeating the submit gets its first event back');
SELECT throws_ok($$SELECT api.submit_event('idem-cust', 'tests_p_work', '{"a": 2}', p_idempotency_key => 'order-1',
                                           p_key => tests.key('intake'))$$,
    'AL004', NULL, 'the same principal with the same key and another body is refused (AL004)');
SELECT results_eq(
    $$SELECT e.submitted_by FROM ledger.events e WHERE e.customer_id = 'idem-cust' ORDER BY e.id$$,
    $$VALUES ('intake'::text), ('bot-a')$$,
    'each event of that idempotency key records the principal that submitted it');

-- Administration ------------------------------------------------------------------------------------
SELECT throws_ok($$SELECT api.create_principal('robbie', 'robot')$$, 'AL020', NULL,
    'a principal is human, agent or service (AL020)');
SELECT throws_ok($$SELECT api.create_principal('alice', 'human')$$, 'AL015', NULL,
    'a principal name is taken once (AL015)');
SELECT throws_ok($$SELECT api.create_principal('carol', 'human', session_user)$$, 'AL015', NULL,
    'a login acts for one principal (AL015)');
SELECT throws_ok($$SELECT api.create_principal('dave', 'human', 'tests_p_no_such_role')$$, 'AL016', NULL,
    'a principal''s login must be a database role (AL016)');
SELECT throws_ok($$SELECT api.deactivate_principal('bob', ' ')$$, 'AL008', NULL,
    'deactivating a principal needs a reason (AL008)');
SELECT throws_ok($$SELECT api.deactivate_principal('nobody', 'tests')$$, 'AL016', NULL,
    'deactivating an unknown principal is refused (AL016)');
SELECT throws_ok($$SELECT api.create_api_key('gone', 'worker', 'gone-2')$$, 'AL016', NULL,
    'a deactivated principal gets no new key (AL016)');
SELECT throws_ok($$SELECT api.create_api_key('bot-a', 'worker', 'bot-a-typo', '{tests_p_no_such_type}')$$, 'AL020', NULL,
    'a key is limited to registered types only (AL020)');
SELECT results_eq(
    $$SELECT p.name, p.kind, p.active, p.logins, p.keys, p.deactivate_reason FROM api.list_principals() p
       WHERE p.name IN ('alice', 'dba', 'login-bot') ORDER BY p.name$$,
    $$VALUES ('alice'::text, 'human'::text, true, '{}'::text[], '{alice,alice-2,alice-worker}'::text[], NULL::text),
             ('dba', 'human', true, ARRAY[session_user::text COLLATE "default"], '{}', NULL),
             ('login-bot', 'agent', false, '{tests_p_stranger}', '{}', 'tests')$$,
    'api.list_principals shows each principal''s kind, whether it is active, its logins, its valid keys and why it was deactivated');

-- The audit hash covers the key ---------------------------------------------------------------------
-- Runs p_tamper as the superuser with the append-only trigger disabled, takes api.verify_audit() and
-- undoes everything; only the verdict comes out.
CREATE FUNCTION tests.verdict_after(p_tamper text) RETURNS api.audit_verdict
LANGUAGE plpgsql AS $$
DECLARE
    v_verdict api.audit_verdict;
BEGIN
    BEGIN
        ALTER TABLE ledger.audit_log DISABLE TRIGGER _100_refuse_change;
        EXECUTE p_tamper;
        v_verdict := api.verify_audit();
        RAISE EXCEPTION USING ERRCODE = 'ZZT01', MESSAGE = 'undo the tampering';
    EXCEPTION WHEN SQLSTATE 'ZZT01' THEN
        NULL;
    END;
    RETURN v_verdict;
END
$$;
CREATE TABLE tests.verdicts (name text PRIMARY KEY, v api.audit_verdict);
SELECT a.seq AS keyed_seq FROM ledger.audit_log a WHERE a.event_id = tests.id('keyed') \gset
INSERT INTO tests.verdicts
SELECT 'other_key', tests.verdict_after(format('UPDATE ledger.audit_log SET api_key = %L WHERE seq = %s', 'bot-a', :keyed_seq))
UNION ALL
SELECT 'no_key', tests.verdict_after(format('UPDATE ledger.audit_log SET api_key = NULL WHERE seq = %s', :keyed_seq));

SELECT is((api.verify_audit()).ok, true, 'the trail of every keyed change above verifies');
SELECT results_eq(
    $$SELECT (v).ok, (v).broken_seq, (v).problem LIKE '%does not match its hash%' FROM tests.verdicts WHERE name = 'other_key'$$,
    format('VALUES (false, %s::bigint, true)', :keyed_seq),
    'verify_audit reports an audit row whose key was changed to another: the key is part of the hash');
SELECT results_eq(
    $$SELECT (v).ok, (v).broken_seq FROM tests.verdicts WHERE name = 'no_key'$$,
    format('VALUES (false, %s::bigint)', :keyed_seq),
    'verify_audit reports an audit row whose key was erased');

SELECT * FROM finish();
ROLLBACK;
