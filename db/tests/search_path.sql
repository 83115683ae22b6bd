-- Every ledger and api function runs with search_path pinned to pg_catalog, pg_temp, so nothing a
-- user has planted in another schema can stand in for a built-in when a DBA's raw write fires the
-- triggers, or a client calls a function. All changes roll back.
BEGIN;
SELECT plan(4);

-- The session's login acts for a principal of its own.
SELECT api.create_principal('dba', 'human', session_user);

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ' ' || coalesce(p.proconfig::text, 'no config')
        FROM pg_proc p
       WHERE p.pronamespace = 'ledger'::regnamespace
         AND p.proconfig[1] IS DISTINCT FROM 'search_path=pg_catalog, pg_temp'$$,
    'every ledger function, trigger functions included, sets search_path to pg_catalog, pg_temp');

-- A function planted in public that is a better match than the built-in for an untyped literal:
-- nextval('ledger.audit_log_seq_seq') would call it from a session whose search_path has public.
-- (It passes other sequences on, as pgTAP, which lives in public, calls nextval too.)
CREATE FUNCTION public.nextval(p_sequence text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF p_sequence LIKE 'ledger.%' THEN
        RAISE EXCEPTION 'planted public.nextval(text) ran for %', p_sequence;
    END IF;
    RETURN pg_catalog.nextval(p_sequence::regclass);
END
$$;
SET LOCAL search_path = public, pg_catalog;

SELECT (api.submit_event('sp-cust', 'loan_application', '{"amount": 1}')).id AS e \gset
SELECT lives_ok(format($$UPDATE ledger.events SET status = 'processing', lease_owner = 'dba',
                                lease_token = '00000000-0000-4000-8000-000000000001',
                                lease_expires_at = now() + interval '1 minute' WHERE id = %s$$, :e),
    'a DBA''s raw status change with public first on the search_path runs the built-ins, not what was planted there');
SELECT is((SELECT count(*) FROM ledger.audit_log a WHERE a.event_id = :e), 2::bigint,
    'and it is audited as usual');
SELECT lives_ok(format($$SELECT api.transition_event(%s, 'approved', 'fine',
                                                       p_lease_token => '00000000-0000-4000-8000-000000000001')$$, :e),
    'an api call from such a session does too');

SELECT * FROM finish();
ROLLBACK;
