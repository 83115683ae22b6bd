-- API keys: created once, stored only as a hash, authenticated by the API role, revoked for good.
BEGIN;
SELECT plan(16);

CREATE SCHEMA tests;
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
SELECT api.create_principal('intake-service', 'service');
SELECT api.create_principal('triage-bot', 'agent');
INSERT INTO tests.keys SELECT 'intake-service', api.create_api_key('intake-service', 'submitter');
INSERT INTO tests.keys SELECT 'triage-bot', api.create_api_key('triage-bot', 'worker');

SELECT ok((SELECT bool_and(key ~ '^al_[0-9a-f]{64}$') FROM tests.keys),
    'a key is "al_" and 64 hex characters');
SELECT ok((SELECT count(DISTINCT key) = 2 FROM tests.keys), 'every key is different');
SELECT is_empty(
    $$SELECT 1 FROM ledger.api_keys k JOIN tests.keys t ON k.name = t.name
       WHERE to_jsonb(k)::text LIKE '%' || substr(t.key, 17) || '%'$$,
    'the key itself is stored nowhere in ledger.api_keys');
SELECT ok((SELECT bool_and(k.secret_sha256 = sha256(convert_to(t.key, 'UTF8')))
             FROM ledger.api_keys k JOIN tests.keys t USING (name)),
    'what is stored is the sha256 of the key');
SELECT results_eq(
    $$SELECT name, role, principal FROM api.authenticate_api_key((SELECT key FROM tests.keys WHERE name = 'triage-bot'))$$,
    $$VALUES ('triage-bot'::text, 'worker'::text, 'triage-bot'::text)$$,
    'a valid key authenticates as its name, role and principal');
SELECT is_empty(
    $$SELECT * FROM api.authenticate_api_key(
          (SELECT overlay(key PLACING 'f' FROM 70 FOR 1) FROM tests.keys WHERE name = 'triage-bot'
            UNION ALL SELECT 'al_' || repeat('0', 64) LIMIT 1))$$,
    'a key differing from a real one authenticates as nobody');
SELECT is_empty($$SELECT * FROM api.authenticate_api_key('not a key')$$,
    'a malformed key authenticates as nobody');
SELECT is_empty($$SELECT * FROM api.authenticate_api_key(NULL)$$, 'no key authenticates as nobody');

SELECT results_eq(
    $$SELECT name, revoke_reason, revoked_at IS NOT NULL FROM api.revoke_api_key('intake-service', 'leaked in a log')$$,
    $$VALUES ('intake-service'::text, 'leaked in a log'::text, true)$$,
    'revoking a key records when, by whom and why');
SELECT is_empty(
    $$SELECT * FROM api.authenticate_api_key((SELECT key FROM tests.keys WHERE name = 'intake-service'))$$,
    'a revoked key authenticates as nobody');
SELECT throws_ok($$SELECT api.create_api_key('intake-service', 'submitter')$$, 'AL015', NULL,
    'a key name is never reused, even after revocation');
SELECT throws_ok($$SELECT api.revoke_api_key('nobody', 'because')$$, 'AL016', NULL,
    'revoking an unknown key name is refused');
SELECT throws_ok($$SELECT api.revoke_api_key('triage-bot', ' ')$$, 'AL008', NULL,
    'revoking a key needs a reason');
SELECT throws_ok($$SELECT api.create_api_key('triage-bot', 'superuser', 'ops')$$, 'AL020', NULL,
    'a key role is one of submitter, worker, reviewer, auditor');
SELECT throws_ok($$SELECT api.create_api_key('triage-bot', 'worker', 'has space')$$, '23514', NULL,
    'a key name is letters, digits and . _ @ -');
SELECT results_eq(
    $$SELECT name, role, principal, revoked_at IS NOT NULL FROM api.list_api_keys()$$,
    $$VALUES ('intake-service'::text, 'submitter'::text, 'intake-service'::text, true),
             ('triage-bot', 'worker', 'triage-bot', false)$$,
    'api.list_api_keys lists every key, valid and revoked, by name, with its principal');

SELECT * FROM finish();
ROLLBACK;
