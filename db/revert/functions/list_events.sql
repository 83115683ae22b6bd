-- Revert agentledger:functions/list_events from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer, text);

-- begin db/functions/list_events.sql
CREATE OR REPLACE FUNCTION api.list_events(
    p_status text DEFAULT NULL,
    p_customer_id text DEFAULT NULL,
    p_event_type text DEFAULT NULL,
    p_created_after timestamptz DEFAULT NULL,
    p_created_before timestamptz DEFAULT NULL,
    p_after_id bigint DEFAULT NULL,
    p_limit integer DEFAULT 100)
RETURNS SETOF api.event
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Keyset pagination in id order: pass the last id of a page as p_after_id to get the next one.
DECLARE
    v_status ledger.event_status;
    v_where text[] := ARRAY['true'];
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            DETAIL = 'A page holds 1 to 1,000 events.',
            HINT = 'Pass a limit from 1 to 1000 and page on with the last id seen.';
    END IF;
    IF p_status IS NOT NULL THEN
        v_status := ledger._checked_status(p_status);
        v_where := array_append(v_where, 'e.status = $1');
    END IF;
    -- A filter no event could match is a mistake, refused by its domain (23514).
    PERFORM p_customer_id::ledger.customer_id, p_event_type::ledger.type_name;
    -- Only the filters given go into the query, so each call is planned for the indexes it can use.
    IF p_customer_id IS NOT NULL THEN v_where := array_append(v_where, 'e.customer_id = $2'); END IF;
    IF p_event_type IS NOT NULL THEN v_where := array_append(v_where, 'e.event_type = $3'); END IF;
    IF p_created_after IS NOT NULL THEN v_where := array_append(v_where, 'e.created_at > $4'); END IF;
    IF p_created_before IS NOT NULL THEN v_where := array_append(v_where, 'e.created_at < $5'); END IF;
    IF p_after_id IS NOT NULL THEN v_where := array_append(v_where, 'e.id > $6'); END IF;
    RETURN QUERY EXECUTE
        'SELECT (ledger._as_api_event(e)).* FROM ledger.events e WHERE '
        || array_to_string(v_where, ' AND ') || ' ORDER BY e.id LIMIT $7'
        USING v_status, p_customer_id, p_event_type, p_created_after, p_created_before, p_after_id,
              p_limit;
END
$$;
COMMENT ON FUNCTION api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer) IS
    'Events matching every filter given, oldest (lowest id) first, at most p_limit (1-1000) of them; pass the last id as p_after_id for the next page.';
GRANT EXECUTE ON FUNCTION api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer)
    TO agentledger_api, agentledger_worker, agentledger_auditor;
-- end db/functions/list_events.sql

COMMIT;
