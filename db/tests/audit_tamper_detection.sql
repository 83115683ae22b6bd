-- api.verify_audit detects each way a superuser with the append-only triggers disabled can tamper
-- with the audit trail: an edited row, a deleted middle row, deleted tail rows (unsealed and
-- sealed), a deleted chain, and a deleted chain together with its event after a seal.
-- api.verify_audit() checks the whole database; the only events in it are this file's own.
-- requires: a database without events of its own
BEGIN;
SELECT plan(47);

CREATE SCHEMA tests;

CREATE FUNCTION tests.now() RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN '2026-11-26 09:00:00+00'::timestamptz;

-- The intake agent and the underwriting agent, each with a key of its own name.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, 'agent')).name, p.role)
  FROM (VALUES ('intake-bot', 'submitter'), ('underwriter-7', 'worker')) p (name, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- A fresh event taken through submit, claim, approve and complete: four audit rows, versions 1-4.
-- (Claiming the approval's action, to complete it under a lease, writes no audit row.)
CREATE FUNCTION tests.completed_event(p_customer_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_step text;
    v_token uuid;
BEGIN
    SELECT r.id INTO v_id
      FROM api.submit_event(p_customer_id, 'loan_application', '{"amount": 25000}'::jsonb,
                            p_now => tests.now(), p_key => tests.key('intake-bot')) r;
    FOREACH v_step IN ARRAY ARRAY['processing', 'approved', 'completed'] LOOP
        IF v_step = 'completed' THEN
            SELECT c.lease_token INTO STRICT v_token
              FROM api.claim_actions('underwriter-7', 1, '{loan_application}', tests.now(), tests.key('underwriter-7')) c
             WHERE c.id = v_id;
        END IF;
        PERFORM api.transition_event(v_id, v_step, 'step to ' || v_step,
                                     CASE WHEN v_step = 'approved' THEN '{"score": 0.93}'::jsonb END,
                                     '{"model": "risk-v4"}'::jsonb, tests.now(), v_token,
                                     tests.key('underwriter-7'));
    END LOOP;
    RETURN v_id;
END
$$;

-- The seq of an event's audit row of version p_version.
CREATE FUNCTION tests.seq_of(p_event_id bigint, p_version integer) RETURNS bigint
LANGUAGE sql STABLE
RETURN (SELECT a.seq FROM ledger.audit_log a WHERE a.event_id = p_event_id AND a.version = p_version);

-- Runs p_tamper as a superuser with the append-only (and ledger.events) triggers disabled, takes
-- api.verify_audit(p_event_id) of the tampered database, then undoes everything: the tampering
-- lives in a subtransaction rolled back by the exception, only the verdict comes out.
CREATE FUNCTION tests.verdict_after(p_tamper text, p_event_id bigint DEFAULT NULL)
RETURNS api.audit_verdict
LANGUAGE plpgsql AS $$
DECLARE
    v_verdict api.audit_verdict;
BEGIN
    BEGIN
        ALTER TABLE ledger.audit_log DISABLE TRIGGER _100_refuse_change;
        ALTER TABLE ledger.events DISABLE TRIGGER USER;
        EXECUTE p_tamper;
        v_verdict := api.verify_audit(p_event_id);
        RAISE EXCEPTION USING ERRCODE = 'ZZT01', MESSAGE = 'undo the tampering';
    EXCEPTION WHEN SQLSTATE 'ZZT01' THEN
        NULL;
    END;
    RETURN v_verdict;
END
$$;

-- Verdicts are taken first and asserted after: a statement that reads ledger.audit_log cannot also
-- ALTER it.
CREATE TABLE tests.verdicts (name text PRIMARY KEY, v api.audit_verdict);
CREATE FUNCTION tests.v(p_name text) RETURNS api.audit_verdict LANGUAGE sql STABLE
RETURN (SELECT t.v FROM tests.verdicts t WHERE t.name = p_name);

-- ---------------------------------------------------------------------------------------------
-- Unsealed trail: events A and B (4 rows each), C (4 rows).
SELECT tests.completed_event('cust-a') AS a, tests.completed_event('cust-b') AS b,
       tests.completed_event('cust-c') AS c \gset
SELECT tests.seq_of(:a, 1) AS a1, tests.seq_of(:a, 2) AS a2, tests.seq_of(:a, 3) AS a3,
       tests.seq_of(:a, 4) AS a4 \gset

-- 4 An intact trail verifies, whole and per event.
SELECT results_eq('SELECT ok, rows_checked, seals_checked, broken_seq, broken_event_id, problem FROM api.verify_audit()',
                  'VALUES (true, 12::bigint, 0::bigint, NULL::bigint, NULL::bigint, NULL::text)',
                  'the untouched trail of three events (12 rows, no seal yet) verifies ok');
SELECT results_eq(format('SELECT ok, rows_checked, broken_seq FROM api.verify_audit(%s)', :a),
                  'VALUES (true, 4::bigint, NULL::bigint)',
                  'the untouched trail of one event verifies ok and counts only its 4 rows');
SELECT is((tests.verdict_after('SELECT 1')).ok, true,
          'the tamper harness itself (triggers disabled, nothing changed) leaves a verifying trail');
SELECT is(api.latest_seal() IS NULL OR (api.latest_seal()).id IS NULL, true,
          'there is no seal yet: the unsealed checks below rely on the chains alone');

INSERT INTO tests.verdicts
SELECT 'edited', v FROM tests.verdict_after(format(
    'UPDATE ledger.audit_log SET reason = %L WHERE seq = %s', 'approved after a phone call', :a2)) v
UNION ALL
SELECT 'edited_one', v FROM tests.verdict_after(format(
    'UPDATE ledger.audit_log SET reason = %L WHERE seq = %s', 'approved after a phone call', :a2), :a) v
UNION ALL
SELECT 'edited_other', v FROM tests.verdict_after(format(
    'UPDATE ledger.audit_log SET reason = %L WHERE seq = %s', 'approved after a phone call', :a2), :b) v
UNION ALL
SELECT 'middle', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE seq = %s', :a2)) v
UNION ALL
SELECT 'middle_one', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE seq = %s', :a2), :a) v
UNION ALL
SELECT 'first', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE seq = %s', :a1)) v
UNION ALL
SELECT 'tail', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE seq IN (%s, %s)', :a3, :a4)) v
UNION ALL
SELECT 'tail_one', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE seq IN (%s, %s)', :a3, :a4), :a) v
UNION ALL
SELECT 'chain', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE event_id = %s', :b)) v
UNION ALL
SELECT 'chain_one', v FROM tests.verdict_after(format('DELETE FROM ledger.audit_log WHERE event_id = %s', :b), :b) v
UNION ALL
SELECT 'event_gone', v FROM tests.verdict_after(format('DELETE FROM ledger.events WHERE id = %s', :c)) v;

-- 5 (a) An edited row no longer matches its hash.
SELECT is((tests.v('edited')).ok, false, 'verify_audit() detects an audit row whose reason was edited');
SELECT is((tests.v('edited')).broken_seq, :a2::bigint, 'verify_audit() names the edited row as the broken one');
SELECT is((tests.v('edited')).broken_event_id, :a::bigint, 'verify_audit() names the event of the edited row');
SELECT ok((tests.v('edited')).problem LIKE '%does not match its hash%',
          'verify_audit() says the edited row does not match its hash');
SELECT results_eq(
    $$SELECT (tests.v('edited_one')).ok, (tests.v('edited_one')).broken_seq, (tests.v('edited_other')).ok$$,
    format('VALUES (false, %s::bigint, true)', :a2),
    'verify_audit(event) finds the edited row in that event''s chain, and another event''s chain stays ok');

-- 5 (b) A deleted middle row breaks the link of the row after it.
SELECT is((tests.v('middle')).ok, false, 'verify_audit() detects a deleted middle row of a chain');
SELECT is((tests.v('middle')).broken_seq, :a3::bigint, 'verify_audit() names the row after the deleted one as broken');
SELECT is((tests.v('middle')).broken_event_id, :a::bigint, 'verify_audit() names the event whose middle row was deleted');
SELECT ok((tests.v('middle')).problem LIKE '%does not follow the row before it%',
          'verify_audit() says the row after the gap does not follow the row before it');
SELECT results_eq(
    $$SELECT (tests.v('middle_one')).ok, (tests.v('middle_one')).broken_seq$$,
    format('VALUES (false, %s::bigint)', :a3),
    'verify_audit(event) detects the deleted middle row too, at the row after it');

-- 1 A deleted first row leaves a chain that starts past version 1.
SELECT results_eq(
    $$SELECT (tests.v('first')).ok, (tests.v('first')).broken_seq, (tests.v('first')).problem LIKE '%starts at version 2%'$$,
    format('VALUES (false, %s::bigint, true)', :a2),
    'verify_audit() detects a deleted first row: the chain then starts at version 2');

-- 5 (c) Deleted tail rows, unsealed: the event no longer matches the head of its chain.
SELECT is((tests.v('tail')).ok, false, 'verify_audit() detects deleted tail rows of an unsealed chain');
SELECT is((tests.v('tail')).broken_event_id, :a::bigint, 'verify_audit() names the event whose tail rows were deleted');
SELECT is((tests.v('tail')).broken_seq, :a2::bigint, 'verify_audit() names the row the truncated chain now ends at');
SELECT ok((tests.v('tail')).problem LIKE '%later rows were deleted%',
          'verify_audit() says the event is past the end of its audit trail');
SELECT results_eq(
    $$SELECT (tests.v('tail_one')).ok, (tests.v('tail_one')).broken_event_id$$,
    format('VALUES (false, %s::bigint)', :a),
    'verify_audit(event) detects the deleted tail rows of that event');

-- 5 (d) A whole deleted chain, the event row still there.
SELECT is((tests.v('chain')).ok, false, 'verify_audit() detects an event whose whole audit chain was deleted');
SELECT is((tests.v('chain')).broken_event_id, :b::bigint, 'verify_audit() names the event that lost its chain');
SELECT is((tests.v('chain')).broken_seq, NULL::bigint, 'verify_audit() names no audit row when a whole chain is gone');
SELECT ok((tests.v('chain')).problem LIKE format('event %s has no audit trail%%', :b),
          'verify_audit() says the event has no audit trail');
SELECT results_eq(
    $$SELECT (tests.v('chain_one')).ok, (tests.v('chain_one')).broken_event_id, (tests.v('chain_one')).rows_checked$$,
    format('VALUES (false, %s::bigint, 0::bigint)', :b),
    'verify_audit(event) detects that the event has no audit rows left');

-- ---------------------------------------------------------------------------------------------
-- Seals.
CREATE TABLE tests.seals (name text PRIMARY KEY, s api.seal);
CREATE FUNCTION tests.seal(p_name text) RETURNS api.seal LANGUAGE sql STABLE
RETURN (SELECT t.s FROM tests.seals t WHERE t.name = p_name);

INSERT INTO tests.seals SELECT 'seal1', s FROM api.seal_audit('auditor-eve') s;
INSERT INTO tests.seals SELECT 'seal1_again', s FROM api.seal_audit('auditor-eve') s;

-- 5 The first seal covers the whole trail so far; sealing again with nothing new returns it.
SELECT results_eq(
    $$SELECT (tests.seal('seal1')).first_seq, (tests.seal('seal1')).last_seq, (tests.seal('seal1')).row_count,
             (tests.seal('seal1')).prev_digest, (tests.seal('seal1')).sealed_by$$,
    $$SELECT min(seq), max(seq), count(*), NULL::text, 'auditor-eve'::text FROM ledger.audit_log$$,
    'the first seal covers every audit row so far, has no previous digest and names who sealed');
SELECT is((tests.seal('seal1')).digest,
          (SELECT encode(sha256(string_agg(hash, ''::bytea ORDER BY seq)), 'hex') FROM ledger.audit_log),
          'the first seal''s digest is sha256 of the hashes of the rows it covers, in seq order');
SELECT is(row_to_json(tests.seal('seal1_again'))::text, row_to_json(tests.seal('seal1'))::text,
          'api.seal_audit with no new audit rows returns the latest seal unchanged');
SELECT is((SELECT count(*) FROM ledger.audit_seals), 1::bigint,
          'api.seal_audit with no new audit rows writes no new seal');
SELECT results_eq('SELECT ok, seals_checked FROM api.verify_audit()', 'VALUES (true, 1::bigint)',
                  'the sealed, untouched trail verifies ok with its seal checked');

-- New rows, then a second seal chained to the first.
SELECT tests.completed_event('cust-d') AS d \gset
INSERT INTO tests.seals SELECT 'seal2', s FROM api.seal_audit('auditor-eve') s;

-- 4 The second seal chains to the first.
SELECT is((tests.seal('seal2')).prev_digest, (tests.seal('seal1')).digest,
          'a new seal''s prev_digest is the digest of the seal before it');
SELECT results_eq(
    $$SELECT (tests.seal('seal2')).first_seq, (tests.seal('seal2')).last_seq, (tests.seal('seal2')).row_count$$,
    format('SELECT min(seq), max(seq), count(*) FROM ledger.audit_log WHERE event_id = %s', :d),
    'a new seal covers exactly the audit rows written since the previous seal');
SELECT is((tests.seal('seal2')).digest,
          (SELECT encode(sha256(decode((tests.seal('seal1')).digest, 'hex') || string_agg(hash, ''::bytea ORDER BY seq)), 'hex')
             FROM ledger.audit_log WHERE seq > (tests.seal('seal1')).last_seq),
          'a new seal''s digest is sha256 of the previous digest and the hashes of the rows it covers');
SELECT results_eq('SELECT ok, rows_checked, seals_checked FROM api.verify_audit()',
                  'VALUES (true, 16::bigint, 2::bigint)',
                  'the untouched trail with two seals verifies ok, every row and both seals checked');

SELECT tests.seq_of(:d, 2) AS d2, tests.seq_of(:d, 3) AS d3, tests.seq_of(:d, 4) AS d4,
       (tests.seal('seal1')).id AS seal1_id, (tests.seal('seal1')).first_seq AS seal1_first,
       (tests.seal('seal2')).id AS seal2_id, (tests.seal('seal2')).first_seq AS seal2_first,
       (tests.seal('seal2')).last_seq AS seal2_last \gset

INSERT INTO tests.verdicts
SELECT 'sealed_tail', v FROM tests.verdict_after(format(
    'DELETE FROM ledger.audit_log WHERE seq IN (%s, %s)', :d3, :d4)) v
UNION ALL
-- The same, with the event put back to where its shortened chain ends (processing, version 2, a
-- lease), so that the chains alone look consistent.
SELECT 'sealed_tail_covered', v FROM tests.verdict_after(format(
    $$DELETE FROM ledger.audit_log WHERE seq IN (%s, %s);
      UPDATE ledger.events SET status = 'processing', version = 2, lease_owner = 'underwriter-7',
             lease_token = gen_random_uuid(), lease_expires_at = now() WHERE id = %s$$, :d3, :d4, :d)) v
UNION ALL
SELECT 'sealed_chain_and_event', v FROM tests.verdict_after(format(
    'DELETE FROM ledger.audit_log WHERE event_id = %s; DELETE FROM ledger.events WHERE id = %s', :c, :c)) v
UNION ALL
SELECT 'sealed_chain_and_event_2', v FROM tests.verdict_after(format(
    'DELETE FROM ledger.audit_log WHERE event_id = %s; DELETE FROM ledger.events WHERE id = %s', :d, :d)) v
UNION ALL
SELECT 'sealed_edit', v FROM tests.verdict_after(format(
    'UPDATE ledger.audit_log SET actor = %L WHERE seq = %s', 'someone-else', :d2)) v;

-- 3 (c) Deleted tail rows of a sealed chain.
SELECT results_eq(
    $$SELECT (tests.v('sealed_tail')).ok, (tests.v('sealed_tail')).broken_event_id, (tests.v('sealed_tail')).broken_seq$$,
    format('VALUES (false, %s::bigint, %s::bigint)', :d, :d2),
    'verify_audit() detects deleted tail rows of a sealed chain, naming the event and its new chain head');
SELECT is((tests.v('sealed_tail_covered')).ok, false,
          'verify_audit() detects deleted tail rows of a sealed chain even when the event was put back to match the shortened chain');
SELECT ok((tests.v('sealed_tail_covered')).problem LIKE format('seal %s covers audit rows %s to %s%%',
                                                              :seal2_id, :seal2_first, :seal2_last)
          AND (tests.v('sealed_tail_covered')).broken_seq = :seal2_first,
          'verify_audit() finds the covered-up tail deletion through the seal that covered those rows');

-- 6 (e) A whole chain and its event deleted after a seal: only the seal remembers them.
SELECT is((tests.v('sealed_chain_and_event')).ok, false,
          'verify_audit() detects an event deleted together with its whole audit chain after a seal');
SELECT ok((tests.v('sealed_chain_and_event')).problem LIKE format('seal %s %%', :seal1_id),
          'verify_audit() names the seal that covered the deleted chain');
SELECT ok((tests.v('sealed_chain_and_event')).problem LIKE '%it sealed 12 rows, 8 are there%',
          'verify_audit() says how many sealed rows are missing');
SELECT is((tests.v('sealed_chain_and_event')).broken_seq, :seal1_first::bigint,
          'verify_audit() points at the first row covered by the broken seal');
SELECT is((tests.v('sealed_chain_and_event')).seals_checked, 1::bigint,
          'verify_audit() stops at the first broken seal');
SELECT ok((tests.v('sealed_chain_and_event_2')).ok = false
          AND (tests.v('sealed_chain_and_event_2')).problem LIKE format('seal %s %%', :seal2_id),
          'verify_audit() detects an event and chain deleted from the latest seal, naming that seal');

-- 1 An edited row inside a sealed range is still found at the row itself first.
SELECT results_eq(
    $$SELECT (tests.v('sealed_edit')).ok, (tests.v('sealed_edit')).broken_seq$$,
    format('VALUES (false, %s::bigint)', :d2),
    'verify_audit() reports an edited sealed row by its own seq');

-- 1 The tampering was all undone: the trail verifies again.
SELECT results_eq('SELECT ok, rows_checked, seals_checked FROM api.verify_audit()',
                  'VALUES (true, 16::bigint, 2::bigint)',
                  'after the tampering is rolled back the trail and both seals verify ok again');

-- An event row deleted while its chain stays is found through the orphaned chain.
SELECT is((tests.v('event_gone')).ok, false, 'verify_audit() detects an event deleted while its audit trail stayed');
SELECT results_eq(
    $$SELECT (tests.v('event_gone')).broken_event_id, (tests.v('event_gone')).problem LIKE '%the event itself was deleted%'$$,
    format('VALUES (%s::bigint, true)', :c),
    'verify_audit() names the deleted event and says its audit trail outlived it');

SELECT * FROM finish();
ROLLBACK;
