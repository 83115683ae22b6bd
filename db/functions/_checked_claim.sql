CREATE OR REPLACE FUNCTION ledger._checked_claim(p_limit integer, p_event_types text[]) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- The arguments every claim shares: how many events, and which types (NULL: any).
DECLARE
    v_max integer;
BEGIN
    SELECT s.max_batch_size INTO v_max FROM ledger.settings s;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > v_max THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('a claim takes 1 to %s events, not %s', v_max, coalesce(p_limit::text, 'NULL')),
            DETAIL = 'The upper limit is ledger.settings.max_batch_size.',
            HINT = 'Claim as many events as the worker has free capacity for.';
    ELSIF cardinality(p_event_types) = 0 OR array_ndims(p_event_types) > 1
          OR array_position(p_event_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event types to claim must be NULL (any type) or a list of type names',
            DETAIL = format('The list given was %s.', p_event_types),
            HINT = 'Pass the types the worker has handlers for, or NULL for any.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._checked_claim(integer, text[]) IS
    'Refuses a claim size outside 1..max_batch_size and an empty or NULL-holding type list (AL019) and an empty or NULL-holding type list (AL021).';
