-- Inputs that must end in a documented SQLSTATE (README error table), and what client roles can see
-- or forge. All changes roll back.
BEGIN;
SELECT plan(13);

CREATE SCHEMA tests;
-- The SQLSTATE p_sql raises, or 'none'.
CREATE FUNCTION tests.sqlstate_of(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
    RETURN 'none';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT USAGE ON SCHEMA tests TO agentledger_api;
GRANT EXECUTE ON FUNCTION tests.sqlstate_of(text) TO agentledger_api;
-- The session's login acts for a principal of its own (also while it plays agentledger_api).
SELECT api.create_principal('dba', 'human', session_user);

SELECT (api.submit_event('edge-in', 'loan_application', '{}')).id AS q \gset

-- p_now NULL: a documented refusal (AL019), not a NOT NULL violation (23502).
SELECT matches(tests.sqlstate_of($$SELECT api.submit_event('edge-in', 'loan_application', '{}', p_now => NULL)$$),
    '^AL', 'api.submit_event with p_now NULL raises a documented AL code');
SELECT matches(tests.sqlstate_of(
    $$SELECT api.submit_events('[{"customer_id": "edge-in", "event_type": "loan_application", "payload": {}}]', p_now => NULL)$$),
    '^AL', 'api.submit_events with p_now NULL raises a documented AL code');
SELECT matches(tests.sqlstate_of(format('SELECT api.transition_event(%s, %L, p_now => NULL)', :q, 'processing')),
    '^AL', 'api.transition_event with p_now NULL raises a documented AL code');
SELECT matches(tests.sqlstate_of(format('SELECT api.cancel_event(%s, %L, p_now => NULL)', :q, 'why')),
    '^AL', 'api.cancel_event with p_now NULL raises a documented AL code');

-- Extreme clocks: a claim whose lease expiry would overflow.
SELECT ok(tests.sqlstate_of(format('SELECT api.transition_event(%s, %L, p_now => %L)', :q, 'processing',
                                    '294276-12-31 23:59:59+00')) ~ '^(none|AL)',
    'a claim at the end of the timestamp range succeeds or raises a documented AL code');

-- One client submit with run_after -infinity must not break api.queue_stats for everybody.
SET LOCAL ROLE agentledger_api;
SELECT ok(tests.sqlstate_of($$SELECT api.submit_event('edge-in', 'loan_application', '{}', p_run_after => '-infinity')$$)
          ~ '^(none|AL)', 'a submit with run_after -infinity is accepted or refused with an AL code');
SELECT lives_ok($$SELECT api.queue_stats()$$, 'api.queue_stats still works after any client submit');
SELECT ok(tests.sqlstate_of($$SELECT api.queue_stats('infinity')$$) ~ '^(none|AL)',
    'api.queue_stats(p_now => infinity) answers or raises a documented AL code');

-- A wrongly typed field in a batch is AL021 (docs/errors.md), not silently stored as text.
SELECT matches(tests.sqlstate_of(
    $$SELECT api.submit_events('[{"customer_id": {"a": 1}, "event_type": "loan_application", "payload": {}}]')$$),
    '^AL0(06|21)$', 'a batch item whose customer_id is a JSON object is refused');

-- verify_audit of an event that does not exist is "no such event" (AL001), not ok = true.
SELECT is(tests.sqlstate_of('SELECT api.verify_audit(-5)'), 'AL001',
    'api.verify_audit of an id that names no event raises AL001');
RESET ROLE;

-- Lease tokens are never shown to other clients, auditors included.
SELECT ok(NOT has_column_privilege('agentledger_auditor', 'ledger.events', 'lease_token', 'SELECT'),
    'agentledger_auditor cannot read lease tokens');

-- The decision result comes only from p_result: details cannot smuggle in a different one.
SELECT (api.submit_event('edge-in', 'loan_application', '{}')).id AS r \gset
SELECT api.transition_event(:r, 'processing') IS NOT NULL AS claimed \gset
SELECT throws_ok(format($$SELECT api.transition_event(%s, 'approved', NULL, NULL, '{"result": {"score": 1}}')$$, :r),
    'AL021', NULL, 'details carrying a "result" key are refused: the result is p_result');

-- A key repeated inside one request with different bodies is named as such.
SELECT throws_ok(
    $$SELECT api.submit_events('[{"customer_id": "edge-dup", "event_type": "loan_application", "payload": {"a": 1}, "idempotency_key": "k"},
                                 {"customer_id": "edge-dup", "event_type": "loan_application", "payload": {"a": 2}, "idempotency_key": "k"}]')$$,
    'AL004', 'idempotency key ''k'' appears twice in this request with different bodies',
    'a key repeated in one request with another body is refused, and the message says so');

SELECT * FROM finish();
ROLLBACK;
