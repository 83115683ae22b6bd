-- A worker that claims an event and gives it back in a loop cannot grow its history without bound:
-- past ledger.settings.free_releases, a release keeps the attempt its claim counted, and a release
-- that leaves no attempt fails the event. All changes roll back.
BEGIN;
SELECT plan(7);

-- The session's login acts for a principal of its own.
SELECT api.create_principal('dba', 'human', session_user);

CREATE SCHEMA tests;
CREATE FUNCTION tests.at(p_seconds numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2031-05-01 08:00:00+00'::timestamptz + p_seconds * interval '1 second';
INSERT INTO ledger.event_types (name, description, max_attempts) VALUES ('tests_loop', 'two attempts', 2);
UPDATE ledger.settings SET free_releases = 1;
SELECT (api.submit_event('loop-cust', 'tests_loop', '{}', p_now => tests.at(0))).id AS e \gset

-- Claims the event and gives it back at second p_at; answers (status, attempts, releases) after.
CREATE FUNCTION tests.claim_and_release(p_event bigint, p_at numeric) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_token uuid;
BEGIN
    SELECT c.lease_token INTO v_token FROM api.claim_events('looper', 1, '{tests_loop}', tests.at(p_at)) c;
    IF v_token IS NULL THEN
        RETURN 'nothing to claim';
    END IF;
    PERFORM api.release_events(ARRAY[p_event], ARRAY[v_token], p_now => tests.at(p_at));
    RETURN (SELECT format('%s %s %s', e.status, e.attempts, e.releases) FROM ledger.events e WHERE e.id = p_event);
END
$$;

SELECT is(tests.claim_and_release(:e, 1), 'queued 0 1', 'the first release is free: the attempt is given back');
SELECT is(tests.claim_and_release(:e, 2), 'queued 1 2', 'the next one keeps the attempt its claim counted');
SELECT is(tests.claim_and_release(:e, 3), 'failed 2 3', 'a release that leaves no attempt fails the event');
SELECT is(tests.claim_and_release(:e, 4), 'nothing to claim', 'and the loop ends');
SELECT is((SELECT a.reason FROM ledger.audit_log a WHERE a.event_id = :e ORDER BY a.seq DESC LIMIT 1),
          'released 3 times; all 2 attempts used', 'the audit row of the failure says why');
SELECT is((SELECT count(*)::integer FROM ledger.audit_log a WHERE a.event_id = :e), 7,
          'its history holds the submit, three claims, two releases and the failure');
SELECT ok((SELECT api.verify_audit(:e)).ok, 'and the trail verifies');

SELECT * FROM finish();
ROLLBACK;
