CREATE OR REPLACE FUNCTION ledger._refuse_out_of_scope(p_acting ledger.acting, p_customer_id text, p_event_type text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
-- A key limited to event types or to customers acts only inside them (ledger.api_keys).
BEGIN
    IF NOT ledger._in_scope(p_acting, p_customer_id, p_event_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = '42501',
            MESSAGE = format('key %s may not act on %s events of customer %s', p_acting.api_key,
                             p_event_type, p_customer_id),
            DETAIL = format('Its scope: event types %s, customers %s.',
                            coalesce(array_to_string(p_acting.event_types, ', '), 'all'),
                            coalesce(p_acting.customers, 'all')),
            HINT = 'Use a key whose scope covers it.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._refuse_out_of_scope(ledger.acting, text, text) IS
    'Refuses (42501) an event of a type or customer outside the scope of the acting key.';
