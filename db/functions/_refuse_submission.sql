CREATE OR REPLACE FUNCTION ledger._refuse_submission(
    p_problem text, p_ord bigint, p_count integer, p_customer_id text, p_event_type text,
    p_payload jsonb, p_priority integer, p_caused_by_event_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
-- Raises the error for the first invalid item of a submit; p_problem names the field at fault.
DECLARE
    v_where text := format('Event %s of %s in the request; nothing was submitted.', p_ord, p_count);
BEGIN
    CASE p_problem
    WHEN 'customer_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL006',
            MESSAGE = format('customer_id %s is not valid', coalesce(quote_literal(left(p_customer_id, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = 'customer_id must be 1 to 64 characters without control characters.';
    WHEN 'event_type' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL002',
            MESSAGE = format('unknown event type %s', coalesce(quote_literal(left(p_event_type, 80)), 'NULL')),
            DETAIL = v_where,
            HINT = (SELECT 'Registered types: ' || string_agg(name, ', ' ORDER BY name)
                           || '. A DBA adds one with INSERT INTO ledger.event_types.'
                      FROM ledger.event_types);
    WHEN 'payload' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL007',
            MESSAGE = format('payload must be a JSON object, not %s', coalesce(jsonb_typeof(p_payload), 'missing')),
            DETAIL = v_where,
            HINT = 'Wrap the value in an object, e.g. {"text": ...}.';
    WHEN 'priority' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('priority %s is out of range', p_priority),
            DETAIL = v_where,
            HINT = 'priority is an integer from -32768 to 32767; higher runs first.';
    WHEN 'idempotency_key' THEN
        RAISE EXCEPTION USING
            ERRCODE = '23514',
            CONSTRAINT = 'idempotency_key_valid',
            MESSAGE = 'idempotency_key must be 1 to 255 characters without control characters',
            DETAIL = v_where,
            HINT = 'Use a UUID or another unique string chosen by the client.';
    WHEN 'run_after' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = 'run_after must be a finite time',
            DETAIL = v_where,
            HINT = 'Leave run_after out to run at once, or give a date and time.';
    WHEN 'caused_by_event_id' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL001',
            MESSAGE = format('caused_by_event_id %s names no event', p_caused_by_event_id),
            DETAIL = v_where,
            HINT = 'Point caused_by_event_id at the event whose handling submitted this one, or leave it out.';
    END CASE;
END
$$;
COMMENT ON FUNCTION ledger._refuse_submission(text, bigint, integer, text, text, jsonb, integer, bigint) IS
    'Raises the SQLSTATE and message for an invalid submit item (AL001, AL002, AL006, AL007, AL019, 23514).';
