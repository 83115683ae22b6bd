CREATE OR REPLACE FUNCTION ledger._checked_actor(p_actor text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- Who acts: the name given (an agent, a person, an API key name), else the database user.
-- The domain ledger.actor_name refuses an unreadable name (23514).
DECLARE
    v_actor ledger.actor_name := coalesce(nullif(btrim(p_actor), ''), session_user);
BEGIN
    RETURN v_actor;
END
$$;
COMMENT ON FUNCTION ledger._checked_actor(text) IS
    'The actor of a change: the given name trimmed, or session_user when none; refuses names the domain ledger.actor_name does not allow (23514).';
