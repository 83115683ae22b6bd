-- Deploy agentledger:functions/_checked_now to pg
-- Written by `agentledger db functions` from db/functions/_checked_now.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_checked_now.sql
CREATE OR REPLACE FUNCTION ledger._checked_now(p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- "Now" for a function call. Only the owner (and superusers, who are members of every role) may
-- move the clock, which tests do; clients could otherwise back-date what they write.
BEGIN
    IF p_now IS NULL OR p_now NOT BETWEEN now() - interval '200 years' AND now() + interval '200 years' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('p_now must be a time within 200 years of now, not %s', coalesce(p_now::text, 'NULL')),
            DETAIL = 'p_now is the current time as the function sees it; leases and back-offs are added to it.',
            HINT = 'Leave it out: it defaults to now().';
    ELSIF p_now <> now() AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = 'only the owner may pass a p_now other than now()',
            DETAIL = format('p_now was %s; the transaction started at %s.', p_now, now()),
            HINT = 'Leave p_now out.';
    END IF;
    RETURN p_now;
END
$$;
COMMENT ON FUNCTION ledger._checked_now(timestamptz) IS
    'The time a call acts at: p_now, which must lie within 200 years of now() and, except for the owner, equal it (AL019 out of range, 42501 from a client).';
-- end db/functions/_checked_now.sql

COMMIT;
