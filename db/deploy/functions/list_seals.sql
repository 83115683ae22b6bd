-- Deploy agentledger:functions/list_seals to pg
-- Written by `agentledger db functions` from db/functions/list_seals.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/list_seals.sql
CREATE OR REPLACE FUNCTION api.list_seals(p_after_id bigint DEFAULT 0, p_limit integer DEFAULT 1000)
RETURNS SETOF api.seal
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- The seals after p_after_id, oldest first: a sealer copies each one, in order, to its witness.
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'api.list_seals answers pages of seals in id order.',
            HINT = 'Ask for 1 to 1000 seals at a time; pass the last id as p_after_id for the next page.';
    END IF;
    IF p_after_id IS NULL OR p_after_id < 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('after_id %s is out of range', coalesce(p_after_id::text, 'NULL')),
            DETAIL = 'Seal ids start at 1.',
            HINT = 'Pass 0 for the first page, then the last id of the page before.';
    END IF;
    RETURN QUERY
    SELECT (ledger._as_api_seal(s)).* FROM ledger.audit_seals s WHERE s.id > p_after_id ORDER BY s.id LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_seals(bigint, integer) IS
    'The audit seals after p_after_id, oldest first, at most p_limit (1 to 1000): what a sealer copies to its witness outside the database (agentledger audit seal).';
GRANT EXECUTE ON FUNCTION api.list_seals(bigint, integer) TO agentledger_worker, agentledger_auditor;
-- end db/functions/list_seals.sql

COMMIT;
