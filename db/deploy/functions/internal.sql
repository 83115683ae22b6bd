-- Deploy agentledger:functions/internal to pg
-- The input checks read the statuses from ledger.event_status itself, so a status added later
-- (in_review) is accepted wherever a status is named; the hint of a refused move lists moves, not
-- notes (same-status rows). Bodies replaced in place; signatures stay.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_transition_hint.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) RETURNS text
LANGUAGE sql STABLE
RETURN (
    SELECT CASE
        WHEN count(*) = 0 THEN format('event %s is %s; %s is terminal', p_event_id, p_status, p_status)
        ELSE format('event %s is %s; from %s it may go to %s', p_event_id, p_status, p_status,
                    string_agg(t.to_status::text, ', ' ORDER BY t.to_status))
    END
    FROM ledger.transitions t
    WHERE t.from_status = p_status AND t.to_status <> p_status);  -- a note is not a move
COMMENT ON FUNCTION ledger._transition_hint(bigint, ledger.event_status) IS
    'The HINT of a refused transition: where the event may go from its status, read from ledger.transitions.';
-- end db/functions/_transition_hint.sql

-- begin db/functions/_checked_inputs.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE OR REPLACE FUNCTION ledger._checked_actor(p_actor text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
-- Who acts: the name given (an agent, a person, an API key name), else the database user.
DECLARE
    v_actor text := coalesce(nullif(btrim(p_actor), ''), session_user);
BEGIN
    IF char_length(v_actor) > 200 OR v_actor ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'actor must be at most 200 characters without control characters',
            DETAIL = format('The actor given is %s characters long.', char_length(v_actor)),
            HINT = 'Name the agent, person or API key that acts, e.g. "fraud-triage-1".';
    END IF;
    RETURN v_actor;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor(text) IS
    'The actor of a change: the given name trimmed, or session_user when none; refuses unreadable names (AL010).';

CREATE OR REPLACE FUNCTION ledger._checked_actor_kind(p_actor_kind text) RETURNS ledger.actor_kind
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_actor_kind IS NULL OR p_actor_kind NOT IN ('agent', 'human', 'system') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('unknown actor kind %s', coalesce(quote_literal(p_actor_kind), 'NULL')),
            DETAIL = 'Every change records whether an agent, a human or the system made it.',
            HINT = 'Use one of: agent, human, system.';
    END IF;
    RETURN p_actor_kind::ledger.actor_kind;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor_kind(text) IS 'Turns text into an actor kind, refusing unknown ones (AL010).';

CREATE OR REPLACE FUNCTION ledger._checked_status(p_status text) RETURNS ledger.event_status
LANGUAGE plpgsql STABLE AS $$
-- The labels are read from the type, so a status added later (in_review) is known here too.
BEGIN
    IF p_status IS NULL OR NOT p_status = ANY (enum_range(NULL::ledger.event_status)::text[]) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('unknown status %s', coalesce(quote_literal(p_status), 'NULL')),
            DETAIL = 'An event status is one of the labels of type ledger.event_status.',
            HINT = format('Use one of: %s.', array_to_string(enum_range(NULL::ledger.event_status), ', '));
    END IF;
    RETURN p_status::ledger.event_status;
END
$$;
COMMENT ON FUNCTION ledger._checked_status(text) IS 'Turns text into an event status, refusing unknown ones (AL010).';

CREATE OR REPLACE FUNCTION ledger._checked_now(p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
-- "Now" for a function call. Only the owner (and superusers, who are members of every role) may
-- move the clock, which tests do; clients could otherwise back-date what they write.
BEGIN
    IF p_now IS NULL OR p_now NOT BETWEEN now() - interval '200 years' AND now() + interval '200 years' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('p_now must be a time within 200 years of now, not %s', coalesce(p_now::text, 'NULL')),
            DETAIL = 'p_now is the current time as the function sees it; leases and back-offs are added to it.',
            HINT = 'Leave it out: it defaults to now().';
    ELSIF p_now <> now() AND NOT pg_has_role(session_user, 'agentledger_owner', 'MEMBER') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = 'only the owner may pass a p_now other than now()',
            DETAIL = format('p_now was %s; the transaction started at %s.', p_now, now()),
            HINT = 'Leave p_now out.';
    END IF;
    RETURN p_now;
END
$$;
COMMENT ON FUNCTION ledger._checked_now(timestamptz) IS
    'The time a call acts at: p_now, which must lie within 200 years of now() and, except for the owner, equal it (AL010).';
-- end db/functions/_checked_inputs.sql

COMMIT;
