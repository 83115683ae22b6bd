-- api.verify_audit() accounts for every audit row at or below the last sealed seq: a row below the
-- first seal, or in a gap between two seals, is in no seal and must be reported.
BEGIN;
SELECT plan(3);

-- The session's login acts for a principal of its own.
SELECT api.create_principal('dba', 'human', session_user);

CREATE SCHEMA tests;

-- Adds, as a superuser with the ledger.events triggers disabled, a complete and self-consistent
-- event (one row in ledger.events, its one audit row at p_seq with a correct hash), takes
-- api.verify_audit(), then undoes everything; only the verdict comes out.
CREATE FUNCTION tests.verdict_with_extra_event_at(p_seq bigint) RETURNS api.audit_verdict
LANGUAGE plpgsql AS $$
DECLARE
    v_verdict api.audit_verdict;
    v_at timestamptz := now();
BEGIN
    BEGIN
        ALTER TABLE ledger.events DISABLE TRIGGER USER;
        INSERT INTO ledger.events (id, customer_id, event_type, payload, changed_by, changed_by_kind)
        OVERRIDING SYSTEM VALUE
        VALUES (-1, 'cust-x', 'loan_application', '{}', 'intake-bot', 'agent');
        INSERT INTO ledger.audit_log (seq, customer_id, event_id, version, from_status, to_status,
                                      actor, actor_kind, db_user, reason, details, attempt,
                                      recorded_at, prev_hash, hash)
        OVERRIDING SYSTEM VALUE
        VALUES (p_seq, 'cust-x', -1, 1, NULL, 'queued', 'intake-bot', 'agent', 'postgres', NULL,
                NULL, 0, v_at, NULL,
                ledger._audit_hash(NULL, p_seq, 'cust-x', -1, 1, NULL, 'queued', 'intake-bot',
                                   'agent', 'postgres', NULL, NULL, 0, v_at, NULL));
        v_verdict := api.verify_audit();
        RAISE EXCEPTION USING ERRCODE = 'ZZT01', MESSAGE = 'undo';
    EXCEPTION WHEN SQLSTATE 'ZZT01' THEN
        NULL;
    END;
    RETURN v_verdict;
END
$$;

-- Two seals with a gap of unused seqs between them.
SELECT api.submit_event('cust-a', 'loan_application', '{}');
SELECT api.seal_audit('ops');
SELECT nextval('ledger.audit_log_seq_seq') AS gap \gset
SELECT api.submit_event('cust-b', 'loan_application', '{}');
SELECT api.seal_audit('ops');

SELECT is((api.verify_audit()).ok, true, 'the two sealed events verify');
SELECT is((tests.verdict_with_extra_event_at(:gap)).ok, false,
          'an audit row in the gap between two seals is reported');
SELECT is((tests.verdict_with_extra_event_at(0)).ok, false,
          'an audit row below the first seal is reported too');

SELECT * FROM finish();
ROLLBACK;
