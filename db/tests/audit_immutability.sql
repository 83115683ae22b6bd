-- The audit trail and its seals are append-only for every role: privileges refuse the owner,
-- ENABLE ALWAYS triggers refuse the superuser (replica mode included), and client roles cannot
-- reach any ledger table at all.
BEGIN;
SELECT plan(116);

CREATE SCHEMA tests;

-- The intake and triage agents, each with a key of its own name.
CREATE TABLE tests.keys (name text PRIMARY KEY, key text NOT NULL);
INSERT INTO tests.keys
SELECT p.name, api.create_api_key((api.create_principal(p.name, 'agent')).name, p.role)
  FROM (VALUES ('intake-bot', 'submitter'), ('triage-bot', 'worker')) p (name, role);
CREATE FUNCTION tests.key(p_name text) RETURNS text LANGUAGE sql STABLE
RETURN (SELECT k.key FROM tests.keys k WHERE k.name = p_name);

-- Something to refuse: row-level triggers fire only on rows that exist, so the trail and the seals
-- each get rows first.
SELECT r.id AS event_id
  FROM api.submit_event('cust-immutable', 'support_ticket', '{"text": "card blocked"}'::jsonb,
                        p_now => '2026-11-26 09:00:00+00', p_key => tests.key('intake-bot')) r \gset
SELECT api.transition_event(:event_id, 'processing', NULL, NULL, NULL, '2026-11-26 09:00:01+00',
                            p_key => tests.key('triage-bot')) IS NOT NULL AS claimed \gset
SELECT (api.seal_audit('auditor-eve')).id AS seal_id \gset

SELECT ok((SELECT count(*) FROM ledger.audit_log WHERE event_id = :event_id) = 2
          AND (SELECT count(*) FROM ledger.audit_seals) >= 1,
          'the fixture leaves audit rows and a seal to try to change');

-- Snapshot of what must survive every attempt below.
CREATE TABLE tests.before AS
SELECT 'audit_log' AS tbl, count(*) AS n, string_agg(encode(hash, 'hex'), ',' ORDER BY seq) AS content
  FROM ledger.audit_log
UNION ALL
SELECT 'audit_seals', count(*), string_agg(encode(digest, 'hex'), ',' ORDER BY id)
  FROM ledger.audit_seals;

-- The statements that would change each audit table, keyed by operation.
CREATE FUNCTION tests.change_sql(p_table text, p_op text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE p_op
    WHEN 'UPDATE' THEN CASE p_table
        WHEN 'audit_log' THEN 'UPDATE ledger.audit_log SET reason = ''rewritten'''
        ELSE 'UPDATE ledger.audit_seals SET sealed_by = ''someone else''' END
    WHEN 'DELETE' THEN format('DELETE FROM ledger.%I', p_table)
    WHEN 'TRUNCATE' THEN format('TRUNCATE ledger.%I', p_table)
END;

-- Tries UPDATE, DELETE and TRUNCATE on both audit tables as whoever is current_user, expecting
-- p_errcode (and, when given, the message) each time.
CREATE FUNCTION tests.try_changes(p_errcode text, p_as text, p_why text, p_expect_trigger_message boolean)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v_table text;
    v_op text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['audit_log', 'audit_seals'] LOOP
        FOREACH v_op IN ARRAY ARRAY['UPDATE', 'DELETE', 'TRUNCATE'] LOOP
            RETURN NEXT throws_ok(
                tests.change_sql(v_table, v_op), p_errcode,
                CASE WHEN p_expect_trigger_message
                     THEN format('%s on %s refused: the audit trail is append-only', v_op, v_table)
                     ELSE format('permission denied for table %s', v_table) END,
                format('%s on ledger.%s %s is refused (%s): %s', v_op, v_table, p_as, p_errcode, p_why));
        END LOOP;
    END LOOP;
END
$$;

-- Tries SELECT, INSERT, UPDATE and DELETE on every ledger table as the current role.
CREATE FUNCTION tests.try_ledger_tables(p_role text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v_table text;
    v_op text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['events', 'audit_log', 'audit_seals', 'transitions', 'event_types',
                                   'settings', 'wakeups', 'principals', 'principal_logins', 'api_keys'] LOOP
        FOREACH v_op IN ARRAY ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] LOOP
            RETURN NEXT throws_ok(
                CASE v_op
                    WHEN 'SELECT' THEN format('SELECT * FROM ledger.%I', v_table)
                    WHEN 'INSERT' THEN format('INSERT INTO ledger.%I DEFAULT VALUES', v_table)
                    WHEN 'UPDATE' THEN format('UPDATE ledger.%I SET %I = %I', v_table,
                        CASE v_table WHEN 'events' THEN 'priority' WHEN 'audit_log' THEN 'reason'
                                     WHEN 'audit_seals' THEN 'sealed_by' WHEN 'transitions' THEN 'description'
                                     WHEN 'event_types' THEN 'description' WHEN 'settings' THEN 'max_batch_size'
                                     WHEN 'principals' THEN 'active' WHEN 'principal_logins' THEN 'principal_id'
                                     WHEN 'api_keys' THEN 'principal_id'
                                     ELSE 'last_notified_at' END,
                        CASE v_table WHEN 'events' THEN 'priority' WHEN 'audit_log' THEN 'reason'
                                     WHEN 'audit_seals' THEN 'sealed_by' WHEN 'transitions' THEN 'description'
                                     WHEN 'event_types' THEN 'description' WHEN 'settings' THEN 'max_batch_size'
                                     WHEN 'principals' THEN 'active' WHEN 'principal_logins' THEN 'principal_id'
                                     WHEN 'api_keys' THEN 'principal_id'
                                     ELSE 'last_notified_at' END)
                    ELSE format('DELETE FROM ledger.%I', v_table)
                END,
                '42501', 'permission denied for schema ledger',
                format('%s on ledger.%s as %s is refused (42501): client roles have no USAGE on the private schema',
                       v_op, v_table, p_role));
        END LOOP;
    END LOOP;
END
$$;
-- The helpers are called after SET LOCAL ROLE; granting them changes nothing they test.
GRANT USAGE ON SCHEMA tests TO agentledger_owner, agentledger_api, agentledger_worker;
GRANT EXECUTE ON FUNCTION tests.change_sql(text, text), tests.try_changes(text, text, text, boolean)
    TO agentledger_owner;
GRANT EXECUTE ON FUNCTION tests.try_ledger_tables(text) TO agentledger_api, agentledger_worker;

-- 2 The refusing triggers are ENABLE ALWAYS, so no session setting switches them off.
SELECT results_eq(
    $$SELECT c.relname::text COLLATE "default", t.tgname::text COLLATE "default", t.tgenabled::text FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'ledger' AND c.relname IN ('audit_log', 'audit_seals') AND NOT t.tgisinternal
       ORDER BY 1, 2$$,
    $$VALUES ('audit_log', '_100_refuse_change', 'A'), ('audit_log', '_100_refuse_truncate', 'A'),
             ('audit_seals', '_100_refuse_change', 'A'), ('audit_seals', '_100_refuse_truncate', 'A')$$,
    'the audit tables carry exactly the refuse-change and refuse-truncate triggers, both ENABLE ALWAYS (tgenabled A)');
SELECT results_eq(
    $$SELECT t.tgname::text COLLATE "default", t.tgenabled::text FROM pg_trigger t
       WHERE t.tgrelid = 'ledger.events'::regclass AND NOT t.tgisinternal ORDER BY 1$$,
    $$VALUES ('_040_set_ordered', 'A'), ('_045_check_line_change', 'A'), ('_050_refuse_delete', 'A'),
             ('_050_refuse_truncate', 'A'), ('_050_refuse_write_once_change', 'A'), ('_080_route_to_review', 'A'),
             ('_100_check_status_change', 'A'), ('_500_audit_status_changes', 'A'), ('_500_audit_submits', 'A'),
             ('_600_settle_lines_after_insert', 'A'), ('_600_settle_lines_after_update', 'A')$$,
    'the lifecycle and audit triggers of ledger.events are ENABLE ALWAYS (tgenabled A), so replica mode cannot bypass the audit');

-- 6 The owner: privileges refuse it before any trigger runs.
SET LOCAL ROLE agentledger_owner;
SELECT * FROM tests.try_changes('42501', 'as agentledger_owner',
                                'UPDATE, DELETE and TRUNCATE are revoked from the owner', false);
RESET ROLE;

-- 6 The superuser: privileges do not apply, the triggers refuse.
SELECT * FROM tests.try_changes('AL011', 'as superuser',
                                'the append-only triggers refuse every role', true);

-- 6 The superuser in replica mode: the triggers are ALWAYS, so they still refuse.
SET LOCAL session_replication_role = replica;
SELECT is(current_setting('session_replication_role'), 'replica',
          'the session is in replica mode for the next checks');
SELECT * FROM tests.try_changes('AL011', 'as superuser with session_replication_role = replica',
                                'the triggers are ENABLE ALWAYS', true);
RESET session_replication_role;

-- 3 The auditor may read the trail but not change it.
SET LOCAL ROLE agentledger_auditor;
SELECT lives_ok('SELECT count(*) FROM ledger.audit_log', 'agentledger_auditor may read the audit trail');
SELECT throws_ok('UPDATE ledger.audit_log SET reason = ''rewritten''', '42501',
                 'permission denied for table audit_log',
                 'UPDATE on ledger.audit_log as agentledger_auditor is refused (42501): auditors only read');
SELECT throws_ok('DELETE FROM ledger.audit_seals', '42501', 'permission denied for table audit_seals',
                 'DELETE on ledger.audit_seals as agentledger_auditor is refused (42501): auditors only read');
RESET ROLE;

-- 40 + 40 Client roles reach no ledger table, not even to read: nor can they make themselves a
-- principal, map a login or add a key.
SET LOCAL ROLE agentledger_api;
SELECT * FROM tests.try_ledger_tables(current_user);
RESET ROLE;
SET LOCAL ROLE agentledger_worker;
SELECT * FROM tests.try_ledger_tables(current_user);
RESET ROLE;

-- 2 Nothing above changed the trail or the seals.
SELECT results_eq(
    $$SELECT 'audit_log' AS tbl, count(*) AS n, string_agg(encode(hash, 'hex'), ',' ORDER BY seq) FROM ledger.audit_log
      UNION ALL
      SELECT 'audit_seals', count(*), string_agg(encode(digest, 'hex'), ',' ORDER BY id) FROM ledger.audit_seals$$,
    'SELECT * FROM tests.before',
    'every refused attempt left the audit rows and seals exactly as they were');
SELECT is((api.verify_audit()).ok, true, 'the audit trail still verifies after all the refused attempts');

-- Events are records too: never deleted, whoever asks.
SELECT throws_ok($$DELETE FROM ledger.events$$, 'AL012', NULL,
    'DELETE on ledger.events is refused even for a superuser: events are never removed');
SELECT throws_ok($$TRUNCATE ledger.events$$, 'AL012', NULL,
    'TRUNCATE on ledger.events is refused even for a superuser');
SET LOCAL ROLE agentledger_owner;
SELECT throws_ok($$DELETE FROM ledger.events$$, '42501', NULL,
    'DELETE on ledger.events is revoked from the owner');
SELECT throws_ok($$TRUNCATE ledger.events$$, '42501', NULL,
    'TRUNCATE on ledger.events is revoked from the owner');
RESET ROLE;

-- Registered types are named by events and audit rows: never removed or renamed, but described anew.
SELECT throws_ok($$DELETE FROM ledger.event_types WHERE name = 'fraud_alert'$$, 'AL012', NULL,
    'a registered event type cannot be deleted');
SELECT throws_ok($$UPDATE ledger.event_types SET name = 'fraud' WHERE name = 'fraud_alert'$$, 'AL012', NULL,
    'a registered event type cannot be renamed');
SELECT throws_ok($$TRUNCATE ledger.event_types CASCADE$$, 'AL012', NULL,
    'the registered event types cannot be truncated');
SELECT lives_ok($$UPDATE ledger.event_types SET description = 'Triage fraud alerts.', max_attempts = 3 WHERE name = 'fraud_alert'$$,
    'a registered event type may get a new description and max_attempts');
SELECT throws_ok($$INSERT INTO ledger.events (customer_id, event_type, payload) VALUES ('c', 'no_such_type', '{}')$$,
    'AL002', NULL, 'a raw INSERT of an event of an unregistered type is refused');

SELECT * FROM finish();
ROLLBACK;
