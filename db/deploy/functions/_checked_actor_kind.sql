-- Deploy agentledger:functions/_checked_actor_kind to pg
-- Written by `agentledger db functions` from db/functions/_checked_actor_kind.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_checked_actor_kind.sql
CREATE OR REPLACE FUNCTION ledger._checked_actor_kind(p_actor_kind text) RETURNS ledger.actor_kind
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_actor_kind IS NULL OR p_actor_kind NOT IN ('agent', 'human', 'system') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL020',
            MESSAGE = format('unknown actor kind %s', coalesce(quote_literal(p_actor_kind), 'NULL')),
            DETAIL = 'Every change records whether an agent, a human or the system made it.',
            HINT = 'Use one of: agent, human, system.';
    END IF;
    RETURN p_actor_kind::ledger.actor_kind;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor_kind(text) IS 'Turns text into an actor kind, refusing unknown ones (AL020).';
-- end db/functions/_checked_actor_kind.sql

COMMIT;
