-- Revert agentledger:functions/_checked_actor from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_checked_actor.sql
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
-- end db/functions/_checked_actor.sql

COMMIT;
