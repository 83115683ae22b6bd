-- Who may do what: the rights of every client role, pinned against the catalog.
BEGIN;
SELECT plan(52);

CREATE SCHEMA tests;
-- Every privilege a table can carry.
CREATE TABLE tests.table_privileges (privilege text PRIMARY KEY);
INSERT INTO tests.table_privileges
VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER');
-- Privileges role p_role holds on the ledger's tables, views and sequences, as 'table: privilege'.
CREATE FUNCTION tests.ledger_privileges_of(p_role name) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT (c.relname::text COLLATE "default") || ': ' || p.privilege
      FROM pg_class c CROSS JOIN tests.table_privileges p
     WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND has_table_privilege(p_role, c.oid, p.privilege)
    UNION ALL
    SELECT (c.relname::text COLLATE "default") || ': column ' || p.privilege
      FROM pg_class c CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('REFERENCES')) p (privilege)
     WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND has_any_column_privilege(p_role, c.oid, p.privilege)
    UNION ALL
    SELECT (c.relname::text COLLATE "default") || ': ' || p.privilege
      FROM pg_class c CROSS JOIN (VALUES ('USAGE'), ('SELECT'), ('UPDATE')) p (privilege)
     WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind = 'S'
       AND has_sequence_privilege(p_role, c.oid, p.privilege)
    ORDER BY 1
$$;
-- The api functions p_role may execute, by name (an overload shows up twice).
CREATE FUNCTION tests.executable_by(p_role name) RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT p.proname::text COLLATE "default" FROM pg_proc p
     WHERE p.pronamespace = 'api'::regnamespace AND has_function_privilege(p_role, p.oid, 'EXECUTE')
     ORDER BY 1
$$;

-- EXECUTE on the api functions ----------------------------------------------------------------------
-- One row per api function: a function added without a decision for every role fails here.
SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default",
             has_function_privilege('agentledger_api', p.oid, 'EXECUTE'),
             has_function_privilege('agentledger_worker', p.oid, 'EXECUTE'),
             has_function_privilege('agentledger_auditor', p.oid, 'EXECUTE')
        FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
       ORDER BY p.proname, p.oid$$,
    $$VALUES ('audit_feed',       true,  false, true),
             ('audit_feed_position', true, false, true),
             ('authenticate_api_key', true, false, false),
             ('cancel_event',     true,  false, false),
             ('claim_actions',    true,  true,  false),
             ('claim_events',     true,  true,  false),
             ('complete_events',  true,  true,  false),
             ('create_api_key',   false, false, false),
             ('create_principal', false, false, false),
             ('deactivate_principal', false, false, false),
             ('decide_events',    true,  true,  false),
             ('event_history',    true,  true,  true),
             ('event_history_page', true, true,  true),
             ('fail_events',      true,  true,  false),
             ('get_event',        true,  true,  true),
             ('heartbeat_events', true,  true,  false),
             ('latest_seal',      true,  true,  true),
             ('list_api_keys',    false, false, false),
             ('list_blocked',     true,  false, true),
             ('list_events',      true,  true,  true),
             ('list_principals',  false, false, false),
             ('list_reviews',     true,  false, true),
             ('list_seals',       false, true,  true),
             ('mark_deadline_breaches', true, true, false),
             ('queue_stats',      true,  true,  true),
             ('readable_events',  true,  false, false),
             ('release_events',   true,  true,  false),
             ('requeue_event',    true,  false, false),
             ('rescue_expired_leases', false, true, false),
             ('review_event',     true,  false, false),
             ('revoke_api_key',   false, false, false),
             ('seal_audit',       false, true,  true),
             ('submit_event',     true,  true,  false),
             ('submit_events',    true,  true,  false),
             ('transition_event', true,  true,  false),
             ('verify_audit',     true,  false, true)$$,
    'every api function has a decided EXECUTE right for each of the api, worker and auditor roles');
SELECT results_eq(
    $$SELECT * FROM tests.executable_by('agentledger_api')$$,
    ARRAY['audit_feed', 'audit_feed_position', 'authenticate_api_key', 'cancel_event', 'claim_actions', 'claim_events', 'complete_events', 'decide_events',
          'event_history', 'event_history_page', 'fail_events', 'get_event', 'heartbeat_events', 'latest_seal', 'list_blocked', 'list_events',
          'list_reviews', 'mark_deadline_breaches', 'queue_stats', 'readable_events', 'release_events', 'requeue_event', 'review_event', 'submit_event',
          'submit_events', 'transition_event', 'verify_audit'],
    'agentledger_api may execute exactly the submit, transition, requeue, cancel, review, read, stats and verify functions, and the worker protocol for agents that reach only HTTP (not the rescue)');
SELECT results_eq(
    $$SELECT * FROM tests.executable_by('agentledger_worker')$$,
    ARRAY['claim_actions', 'claim_events', 'complete_events', 'decide_events', 'event_history',
          'event_history_page', 'fail_events', 'get_event', 'heartbeat_events', 'latest_seal', 'list_events', 'list_seals', 'mark_deadline_breaches',
          'queue_stats', 'release_events', 'rescue_expired_leases', 'seal_audit', 'submit_event', 'submit_events',
          'transition_event'],
    'agentledger_worker may execute exactly the worker protocol (claim, report, rescue) and the submit, transition, read, stats and seal functions');
SELECT results_eq(
    $$SELECT * FROM tests.executable_by('agentledger_auditor')$$,
    ARRAY['audit_feed', 'audit_feed_position', 'event_history', 'event_history_page', 'get_event', 'latest_seal', 'list_blocked',
          'list_events', 'list_reviews', 'list_seals', 'queue_stats', 'seal_audit', 'verify_audit'],
    'agentledger_auditor may execute exactly the read, review queue, stats, verify and seal functions');
SELECT function_privs_are('api', 'seal_audit', ARRAY['text'], 'agentledger_api', ARRAY[]::text[],
    'agentledger_api may not seal the audit trail');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
       WHERE p.pronamespace IN ('api'::regnamespace, 'ledger'::regnamespace)
         AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'$$,
    'PUBLIC may execute no function in schema api or ledger');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'ledger'::regnamespace
         AND (has_function_privilege('agentledger_api', p.oid, 'EXECUTE')
              OR has_function_privilege('agentledger_worker', p.oid, 'EXECUTE')
              OR has_function_privilege('agentledger_auditor', p.oid, 'EXECUTE'))$$,
    'no client role may execute a private ledger function');

-- How the api functions run -------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace) >= 12,
    'the checks below see the api functions');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace = 'api'::regnamespace AND NOT p.prosecdef$$,
    'every api function is SECURITY DEFINER');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ' ' || coalesce(p.proconfig::text, 'no config')
        FROM pg_proc p
       WHERE p.pronamespace = 'api'::regnamespace
         AND p.proconfig[1] IS DISTINCT FROM 'search_path=pg_catalog, pg_temp'
          OR p.pronamespace = 'api'::regnamespace
         AND EXISTS (SELECT 1 FROM unnest(p.proconfig[2:]) c WHERE c <> 'plan_cache_mode=force_generic_plan')$$,
    'every api function sets search_path to exactly pg_catalog, pg_temp, and nothing else but (for the batch reports) plan_cache_mode');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE p.pronamespace IN ('api'::regnamespace, 'ledger'::regnamespace)
         AND p.proowner <> 'agentledger_owner'::regrole$$,
    'every function in api and ledger is owned by agentledger_owner');
SELECT is_definer('api', 'submit_event',
    ARRAY['text', 'text', 'jsonb', 'integer', 'timestamp with time zone', 'text', 'uuid', 'bigint',
          'timestamp with time zone', 'text'],
    'api.submit_event runs with its owner''s rights');

-- Ownership -----------------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_class c
       WHERE c.relnamespace IN ('api'::regnamespace, 'ledger'::regnamespace)
         AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
         AND c.relowner <> 'agentledger_owner'::regrole$$,
    'every ledger table and sequence, and every type in api and ledger, is owned by agentledger_owner');
SELECT results_eq(
    $$SELECT n.nspname::text COLLATE "default", pg_get_userbyid(n.nspowner)::text COLLATE "default" FROM pg_namespace n
       WHERE n.nspname IN ('api', 'ledger') ORDER BY 1$$,
    $$VALUES ('api', 'agentledger_owner'), ('ledger', 'agentledger_owner')$$,
    'both schemas are owned by agentledger_owner');

-- Tables and schemas --------------------------------------------------------------------------------
SELECT ok((SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind = 'r') >= 7,
    'the checks below see the ledger tables');
SELECT is_empty($$SELECT * FROM tests.ledger_privileges_of('agentledger_api')$$,
    'agentledger_api has no privilege on any ledger table or sequence');
SELECT is_empty($$SELECT * FROM tests.ledger_privileges_of('agentledger_worker')$$,
    'agentledger_worker has no privilege on any ledger table or sequence');
SELECT results_eq(
    $$SELECT * FROM tests.ledger_privileges_of('agentledger_auditor')$$,
    ARRAY['access_log: SELECT', 'access_log: column SELECT', 'audit_log: SELECT', 'audit_log: column SELECT',
          'audit_seals: SELECT', 'audit_seals: column SELECT', 'events: column SELECT', 'review_policies: SELECT',
          'review_policies: column SELECT'],
    'agentledger_auditor may read events (column by column), audit_log, audit_seals, review_policies and the record of auditors'' reads, and nothing more');
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default" FROM pg_attribute a
       WHERE a.attrelid = 'ledger.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         AND NOT has_column_privilege('agentledger_auditor', a.attrelid, a.attnum, 'SELECT')
       ORDER BY a.attnum$$,
    ARRAY['lease_token', 'last_lease_token'],
    'agentledger_auditor may read every column of ledger.events but the lease tokens (the live one and the last one reported with)');
SELECT table_privs_are('ledger', 'audit_log', 'agentledger_auditor', ARRAY['SELECT'],
    'agentledger_auditor may only SELECT from ledger.audit_log');
SELECT table_privs_are('ledger', 'audit_seals', 'agentledger_auditor', ARRAY['SELECT'],
    'agentledger_auditor may only SELECT from ledger.audit_seals');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a
       WHERE c.relnamespace = 'ledger'::regnamespace AND a.grantee = 0$$,
    'PUBLIC has no privilege on any ledger table or sequence');
SELECT schema_privs_are('ledger', 'agentledger_api', ARRAY[]::text[],
    'agentledger_api has no USAGE on schema ledger');
SELECT schema_privs_are('ledger', 'agentledger_worker', ARRAY[]::text[],
    'agentledger_worker has no USAGE on schema ledger');
SELECT schema_privs_are('ledger', 'agentledger_auditor', ARRAY['USAGE'],
    'agentledger_auditor has USAGE (and no CREATE) on schema ledger');
SELECT results_eq(
    $$SELECT r.rolname::text COLLATE "default", has_schema_privilege(r.oid, 'api', 'USAGE'), has_schema_privilege(r.oid, 'api', 'CREATE')
        FROM pg_roles r WHERE r.rolname IN ('agentledger_api', 'agentledger_worker', 'agentledger_auditor')
       ORDER BY 1$$,
    $$VALUES ('agentledger_api', true, false), ('agentledger_auditor', true, false),
             ('agentledger_worker', true, false)$$,
    'every client role has USAGE but not CREATE on schema api');
SELECT is_empty(
    $$SELECT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a
       WHERE n.nspname IN ('api', 'ledger') AND a.grantee = 0$$,
    'PUBLIC has no privilege on schema api or ledger');

-- The roles themselves ------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT r.rolname::text COLLATE "default", r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
             r.rolbypassrls
        FROM pg_roles r
       WHERE r.rolname IN ('agentledger_api', 'agentledger_auditor', 'agentledger_owner', 'agentledger_worker')
       ORDER BY 1$$,
    $$VALUES ('agentledger_api', false, false, false, false, false, false),
             ('agentledger_auditor', false, false, false, false, false, false),
             ('agentledger_owner', false, false, false, false, false, false),
             ('agentledger_worker', false, false, false, false, false, false)$$,
    'the four agentledger roles exist, are NOLOGIN and hold no superuser, createrole, createdb, replication or bypassrls attribute');
SELECT is_empty(
    $$SELECT g.rolname || ' in ' || m.roleid::regrole::text
        FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.member
       WHERE g.rolname IN ('agentledger_api', 'agentledger_worker', 'agentledger_auditor')$$,
    'no client role is a member of another role (in particular not of agentledger_owner)');
SELECT results_eq(
    $$SELECT s.setrole::regrole::text COLLATE "default", split_part(c.setting, '=', 1) COLLATE "default"
        FROM pg_db_role_setting s, unnest(s.setconfig) c (setting)
       WHERE s.setdatabase = 0
         AND s.setrole IN ('agentledger_api'::regrole, 'agentledger_worker'::regrole, 'agentledger_auditor'::regrole)
         AND split_part(c.setting, '=', 1) IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')
       ORDER BY 1, 2$$,
    $$VALUES ('agentledger_api', 'idle_in_transaction_session_timeout'), ('agentledger_api', 'lock_timeout'),
             ('agentledger_api', 'statement_timeout'),
             ('agentledger_auditor', 'idle_in_transaction_session_timeout'), ('agentledger_auditor', 'lock_timeout'),
             ('agentledger_auditor', 'statement_timeout'),
             ('agentledger_worker', 'idle_in_transaction_session_timeout'), ('agentledger_worker', 'lock_timeout'),
             ('agentledger_worker', 'statement_timeout')$$,
    'every client role carries statement_timeout, lock_timeout and idle_in_transaction_session_timeout in every database');
SELECT is_empty(
    $$SELECT s.setrole::regrole::text || ' ' || c.setting
        FROM pg_db_role_setting s, unnest(s.setconfig) c (setting)
       WHERE s.setdatabase = 0
         AND s.setrole IN ('agentledger_api'::regrole, 'agentledger_worker'::regrole, 'agentledger_auditor'::regrole)
         AND split_part(c.setting, '=', 1) IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')
         AND split_part(c.setting, '=', 2) ~ '^0+(ms|s|min|h|d)?$'$$,
    'none of those client timeouts is 0 (disabled)');

-- Refusals, acting as each role ---------------------------------------------------------------------
SET LOCAL ROLE agentledger_api;
SELECT throws_ok($$SELECT api.seal_audit('tests')$$, '42501', NULL,
    'agentledger_api may not call api.seal_audit (worker and auditor only)');
SELECT throws_ok($$SELECT * FROM ledger.events$$, '42501', NULL,
    'agentledger_api may not read ledger.events directly');
SELECT throws_ok($$SELECT ledger._checked_status('queued')$$, '42501', NULL,
    'agentledger_api may not call a private ledger function');
SELECT throws_ok($$SELECT ledger._acting(NULL, '{worker}')$$, '42501', NULL,
    'agentledger_api may not call ledger._acting to learn or fake who acts');
SELECT throws_ok($$SELECT api.create_principal('tests-intruder', 'human', 'agentledger_api')$$, '42501', NULL,
    'agentledger_api may not create principals (administrators only)');
SELECT throws_ok($$SELECT api.create_api_key('tests-intruder', 'reviewer')$$, '42501', NULL,
    'agentledger_api may not create API keys (administrators only)');
SELECT throws_ok($$SELECT api.deactivate_principal('tests-intruder', 'tests')$$, '42501', NULL,
    'agentledger_api may not deactivate principals (administrators only)');
RESET ROLE;

SET LOCAL ROLE agentledger_worker;
SELECT throws_ok($$SELECT api.requeue_event(1, 'tests')$$, '42501', NULL,
    'agentledger_worker may not re-queue events (operators through the api only)');
SELECT throws_ok($$SELECT api.cancel_event(1, 'tests')$$, '42501', NULL,
    'agentledger_worker may not cancel events (operators through the api only)');
SELECT throws_ok($$SELECT api.verify_audit()$$, '42501', NULL,
    'agentledger_worker may not verify the audit trail');
SELECT throws_ok($$UPDATE ledger.events SET status = 'failed'$$, '42501', NULL,
    'agentledger_worker may not write ledger.events directly');
SELECT throws_ok($$SELECT * FROM api.list_principals()$$, '42501', NULL,
    'agentledger_worker may not list principals (administrators only)');
RESET ROLE;

SET LOCAL ROLE agentledger_auditor;
SELECT throws_ok($$SELECT api.submit_event('tests-roles', 'loan_application', '{}')$$, '42501', NULL,
    'agentledger_auditor may not submit events');
SELECT throws_ok($$SELECT api.transition_event(1, 'failed', p_reason => 'tests')$$, '42501', NULL,
    'agentledger_auditor may not change an event''s status');
SELECT throws_ok($$INSERT INTO ledger.audit_seals (first_seq, last_seq, row_count, digest, sealed_by)
                   VALUES (1, 1, 1, '\x00', 'tests')$$, '42501', NULL,
    'agentledger_auditor may not write the audit trail directly');
SELECT throws_ok($$SELECT * FROM ledger.settings$$, '42501', NULL,
    'agentledger_auditor may not read ledger.settings');
SELECT lives_ok($$SELECT count(*) FROM ledger.audit_log$$,
    'agentledger_auditor may read ledger.audit_log directly');
SELECT lives_ok($$SELECT count(*) FROM ledger.events$$,
    'agentledger_auditor may read ledger.events directly');
RESET ROLE;

-- The api role works through the functions ----------------------------------------------------------
SELECT api.create_principal('intake-service', 'service');
SELECT api.create_api_key('intake-service', 'submitter', 'api-key-7') AS submitter_key \gset
SET LOCAL ROLE agentledger_api;
SELECT lives_ok(
    format($$SELECT api.submit_event('tests-roles-api', 'support_ticket', '{"q": "hello"}', p_key => %L)$$,
           :'submitter_key'),
    'agentledger_api may submit an event through api.submit_event with a key');
SELECT results_eq(
    $$SELECT e.customer_id, e.status::text FROM api.list_events(p_customer_id => 'tests-roles-api') e$$,
    $$VALUES ('tests-roles-api'::text, 'queued'::text)$$,
    'agentledger_api may read the event it submitted through api.list_events');
RESET ROLE;
SELECT results_eq(
    $$SELECT a.version, a.to_status, a.actor, a.actor_kind, a.api_key FROM ledger.audit_log a
       WHERE a.customer_id = 'tests-roles-api'$$,
    $$VALUES (1, 'queued'::ledger.event_status, 'intake-service'::text, 'system'::ledger.actor_kind, 'api-key-7'::text)$$,
    'a submit by agentledger_api leaves an audit row attributed to the principal of the key, naming the key');

SELECT * FROM finish();
ROLLBACK;
