-- House style, checked against the catalog: everything is documented, constraints and triggers are
-- named by rule.
BEGIN;
SELECT plan(11);

CREATE SCHEMA tests;
CREATE FUNCTION tests.is_ours(p_namespace oid) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT p_namespace IN ('ledger'::regnamespace, 'api'::regnamespace) $$;

-- Comments ------------------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT n.nspname FROM pg_namespace n
       WHERE tests.is_ours(n.oid) AND obj_description(n.oid, 'pg_namespace') IS NULL$$,
    'schemas ledger and api have a COMMENT');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_class c
       WHERE tests.is_ours(c.relnamespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
         AND obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table and view in ledger and api has a COMMENT');
SELECT is_empty(
    $$SELECT c.oid::regclass::text || '.' || a.attname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE tests.is_ours(c.relnamespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
         AND col_description(c.oid, a.attnum) IS NULL$$,
    'every column of every table and view in ledger and api has a COMMENT');
-- Types made with CREATE TYPE or CREATE DOMAIN: not array types, not the row types of tables.
SELECT is_empty(
    $$SELECT t.oid::regtype::text FROM pg_type t
        LEFT JOIN pg_class c ON c.oid = t.typrelid
       WHERE tests.is_ours(t.typnamespace) AND t.typcategory <> 'A'
         AND (t.typrelid = 0 OR c.relkind = 'c')
         AND obj_description(t.oid, 'pg_type') IS NULL$$,
    'every type in ledger and api has a COMMENT');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
       WHERE tests.is_ours(p.pronamespace) AND obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every function in ledger and api has a COMMENT');
SELECT ok(
    (SELECT count(*) FROM pg_type t WHERE tests.is_ours(t.typnamespace) AND t.typtype IN ('e', 'c')
        AND t.typcategory <> 'A') >= 8
    AND (SELECT count(*) FROM pg_proc p WHERE tests.is_ours(p.pronamespace)) >= 28,
    'the comment checks see the enums, composite types and functions of ledger and api');

-- Constraints ---------------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT c.conrelid::regclass::text || ': ' || c.conname FROM pg_constraint c
       WHERE tests.is_ours(c.connamespace) AND c.contype <> 'p' AND c.conname ~ '_check$'$$,
    'no ledger constraint besides a primary key keeps a default name ending in _check: each is named for its rule');
SELECT ok(
    (SELECT count(*) FROM pg_constraint c WHERE tests.is_ours(c.connamespace) AND c.contype = 'c') >= 15,
    'the constraint check sees the CHECK constraints of the ledger');

-- Triggers ------------------------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT t.tgrelid::regclass::text || ': ' || t.tgname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
       WHERE tests.is_ours(c.relnamespace) AND NOT t.tgisinternal AND t.tgname !~ '^_[0-9]{3}_'$$,
    'every trigger name starts with _NNN_, its place in the firing order');
SELECT ok(
    (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE tests.is_ours(c.relnamespace) AND NOT t.tgisinternal) >= 9,
    'the trigger check sees the triggers of the ledger');
SELECT is_empty(
    $$SELECT t.tgrelid::regclass::text || ': ' || t.tgname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
       WHERE c.oid IN ('ledger.events'::regclass, 'ledger.audit_log'::regclass, 'ledger.audit_seals'::regclass)
         AND NOT t.tgisinternal AND t.tgenabled <> 'A'$$,
    'every trigger enforcing a rule on events and the audit trail is ENABLE ALWAYS, so session_replication_role = replica cannot skip it');

SELECT * FROM finish();
ROLLBACK;
