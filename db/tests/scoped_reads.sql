-- Reads by API key: a submitter reads what its principal submitted, within its key's scope; other
-- keys read within their scope; an auditor reads everything, and each of its reads is recorded in
-- ledger.access_log. What a key may not read answers as if it did not exist (AL001). Logins read by
-- their grants, as before.
BEGIN;
SELECT plan(22);

CREATE SCHEMA tests;
INSERT INTO ledger.event_types (name, description) VALUES ('tests_r_loan', 'loans'), ('tests_r_card', 'cards');
SELECT api.create_principal('dba', 'human', session_user);
SELECT api.create_principal(p.name, p.kind)
  FROM (VALUES ('intake', 'service'), ('branch', 'service'), ('card-bot', 'agent'), ('ann', 'human'),
               ('audrey', 'human')) p (name, kind);
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT k.principal, api.create_api_key(k.principal, k.role, k.principal, k.event_types, k.customers)
  FROM (VALUES ('intake', 'submitter', NULL::text[], NULL::text),
               ('branch', 'submitter', NULL, NULL),
               ('card-bot', 'worker', '{tests_r_card}', NULL),
               ('ann', 'reviewer', NULL, 'retail-%'),
               ('audrey', 'auditor', NULL, NULL)) k (principal, role, event_types, customers);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- intake submits a retail loan and a corporate card; branch submits a retail card.
CREATE TABLE tests.fx (name text PRIMARY KEY, id bigint NOT NULL);
INSERT INTO tests.fx
SELECT s.name, (api.submit_event(s.customer, s.type, '{"card": "4111 1111 1111 1111"}', p_key => tests.key(s.who))).id
  FROM (VALUES ('retail-loan', 'retail-1', 'tests_r_loan', 'intake'),
               ('corp-card', 'corp-1', 'tests_r_card', 'intake'),
               ('branch-card', 'retail-2', 'tests_r_card', 'branch')) s (name, customer, type, who);
CREATE FUNCTION tests.id(p_name text) RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT f.id FROM tests.fx f WHERE f.name = p_name);
-- The fixture events a key's list shows, by fixture name.
CREATE FUNCTION tests.listed(p_key_name text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT f.name FROM api.list_events(p_limit => 1000, p_key => tests.key(p_key_name)) e
      JOIN tests.fx f ON f.id = e.id ORDER BY f.name
$$;

-- A submitter reads only its own submissions ------------------------------------------------------
SELECT is((api.get_event(tests.id('retail-loan'), tests.key('intake'))).id, tests.id('retail-loan'),
    'a submitter reads an event its principal submitted');
SELECT throws_ok(format('SELECT api.get_event(%s, %L)', tests.id('branch-card'), tests.key('intake')),
    'AL001', NULL, 'another submitter''s event answers as if it did not exist');
SELECT results_eq($$SELECT * FROM tests.listed('intake')$$, ARRAY['corp-card', 'retail-loan'],
    'a submitter''s list holds only its own submissions');
SELECT throws_ok(format('SELECT * FROM api.event_history(%s, %L)', tests.id('branch-card'), tests.key('intake')),
    'AL001', NULL, 'nor may it read another submitter''s audit trail');
SELECT throws_ok(format('SELECT * FROM api.event_history_page(%s, NULL, 10, %L)', tests.id('branch-card'),
                        tests.key('intake')),
    'AL001', NULL, 'a page at a time either');
SELECT is((SELECT count(*)::int FROM api.event_history_page(tests.id('retail-loan'), NULL, 10, tests.key('intake'))), 1,
    'its own event''s trail it reads');

-- Other keys read within their scope --------------------------------------------------------------
SELECT results_eq($$SELECT * FROM tests.listed('card-bot')$$, ARRAY['branch-card', 'corp-card'],
    'a worker key limited to a type lists only events of that type, whoever submitted them');
SELECT throws_ok(format('SELECT api.get_event(%s, %L)', tests.id('retail-loan'), tests.key('card-bot')),
    'AL001', NULL, 'an event of another type answers as if it did not exist');
SELECT results_eq($$SELECT * FROM tests.listed('ann')$$, ARRAY['branch-card', 'retail-loan'],
    'a reviewer key limited to retail-% customers lists only theirs');
SELECT results_eq(
    format('SELECT * FROM api.readable_events(%L, %L)',
           ARRAY[tests.id('retail-loan'), tests.id('corp-card'), tests.id('branch-card')], tests.key('ann')),
    ARRAY[tests.id('retail-loan'), tests.id('branch-card')],
    'api.readable_events answers with the events the key may read, for the stream');
SELECT throws_ok(format('SELECT * FROM api.readable_events(%L, %L)', ARRAY[1], 'al_' || repeat('0', 64)),
    '28000', NULL, 'an invalid key reads nothing');
SELECT is((SELECT count(*)::int FROM ledger.access_log), 0, 'no read so far was an auditor''s');

-- An auditor reads everything, and every read is recorded -----------------------------------------
SELECT results_eq($$SELECT * FROM tests.listed('audrey')$$, ARRAY['branch-card', 'corp-card', 'retail-loan'],
    'an auditor lists every event');
SELECT is((api.get_event(tests.id('branch-card'), tests.key('audrey'))).id, tests.id('branch-card'),
    'an auditor reads any event');
SELECT is((SELECT count(*)::int FROM api.event_history(tests.id('corp-card'), tests.key('audrey'))), 1,
    'and any audit trail');
SELECT results_eq(
    $$SELECT principal, api_key, db_user, action, event_id FROM ledger.access_log ORDER BY id$$,
    format($$VALUES ('audrey'::text, 'audrey'::text, %L::text, 'list_events'::text, NULL::bigint),
                    ('audrey', 'audrey', %L, 'get_event', %s), ('audrey', 'audrey', %L, 'event_history', %s)$$,
           session_user, session_user, tests.id('branch-card'), session_user, tests.id('corp-card')),
    'each auditor read is recorded: who, with which key and login, what and which event');
SELECT is((SELECT details ->> 'event_type' FROM ledger.access_log WHERE action = 'list_events'), NULL,
    'a list records its filters (none here)');
SELECT lives_ok(format('SELECT * FROM api.list_reviews(%L, 10, %L)', 'tests_r_card', tests.key('audrey')),
    'the review queue, read by an auditor ...');
SELECT is((SELECT details FROM ledger.access_log WHERE action = 'list_reviews'), '{"event_type": "tests_r_card"}'::jsonb,
    '... is recorded with its filter');
SELECT throws_ok($$UPDATE ledger.access_log SET principal = 'someone else'$$, 'AL011', NULL,
    'the record of reads is append-only: no update ...');
SELECT throws_ok($$DELETE FROM ledger.access_log$$, 'AL011', NULL, '... and no delete');

-- Logins read by their grants --------------------------------------------------------------------
SELECT is((api.get_event(tests.id('branch-card'))).id, tests.id('branch-card'),
    'a login without a key reads as before');

SELECT * FROM finish();
ROLLBACK;
