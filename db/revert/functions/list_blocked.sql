-- Revert agentledger:functions/list_blocked from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/list_blocked.sql
CREATE OR REPLACE FUNCTION api.list_blocked(p_limit integer DEFAULT 100)
RETURNS TABLE (customer_id text, failed_event_id bigint, failed_event_type text, failed_at timestamptz,
               last_error text, blocked_events bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL010',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Ask for 1 to 1000 rows at a time.';
    END IF;
    -- The earliest failed, unreleased ordered event of each customer holds back every later one.
    RETURN QUERY
    SELECT f.customer_id, f.id, f.event_type, f.updated_at, f.last_error,
           (SELECT count(*) FROM ledger.events b
             WHERE b.customer_id = f.customer_id AND b.ordered AND b.id > f.id AND b.status = 'queued')
      FROM ledger.events f
     WHERE f.ordered AND f.status = 'failed' AND f.order_released_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM ledger.events g
                        WHERE g.customer_id = f.customer_id AND g.ordered AND g.status = 'failed'
                          AND g.order_released_at IS NULL AND g.id < f.id)
     ORDER BY f.updated_at, f.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_blocked(integer) IS
    'For operators: customers whose ordered events wait behind a failed one, oldest failure first: the failed event, its error, and how many later ordered events it holds back. Re-queue it (api.requeue_event) or cancel it (api.cancel_event) to let them go on.';
GRANT EXECUTE ON FUNCTION api.list_blocked(integer) TO agentledger_api, agentledger_auditor;
-- end db/functions/list_blocked.sql

COMMIT;
