CREATE OR REPLACE FUNCTION ledger._refuse_bad_outcome_inputs(
    p_reasons text[], p_objects jsonb[], p_max_bytes integer, p_what text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
-- The same limits api.transition_event applies to one event, for the arrays of a report.
BEGIN
    PERFORM p_reasons::ledger.reason[];  -- the domain refuses one that is too long (23514)
    IF EXISTS (SELECT 1 FROM unnest(p_objects) o WHERE jsonb_typeof(o) <> 'object') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('each %s must be a JSON object or NULL', p_what),
            DETAIL = format('One is a %s.', (SELECT jsonb_typeof(o) FROM unnest(p_objects) o
                                              WHERE jsonb_typeof(o) <> 'object' LIMIT 1)),
            HINT = 'e.g. {"score": 0.93}.';
    ELSIF EXISTS (SELECT 1 FROM unnest(p_objects) o WHERE octet_length(o::text) > p_max_bytes) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL005',
            MESSAGE = format('a %s larger than the limit of %s bytes', p_what, p_max_bytes),
            DETAIL = 'It is kept forever in the audit trail; the limit is ledger.settings.max_payload_bytes.',
            HINT = 'Store large evidence elsewhere and put a reference in it.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._refuse_bad_outcome_inputs(text[], jsonb[], integer, text) IS
    'Refuses reasons the domain ledger.reason does not allow (23514), results or details that are not objects (AL021) or over max_payload_bytes (AL005).';
