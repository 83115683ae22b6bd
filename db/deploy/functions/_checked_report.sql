-- Deploy agentledger:functions/_checked_report to pg
-- Written by `agentledger db functions` from db/functions/_checked_report.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_checked_report.sql
CREATE OR REPLACE FUNCTION ledger._checked_report(
    p_event_ids bigint[], p_lease_tokens uuid[], p_other_lengths integer[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- The common start of every report (heartbeat, decide, complete, fail, release): the arrays line
-- up, and the named events are locked in id order, so two reports naming the same events cannot
-- deadlock and what the report then reads is what it updates. p_other_lengths: the lengths of the
-- report's other arrays (NULL for one left out, which means "none for any event").
DECLARE
    v_count integer := cardinality(p_event_ids);
    v_max integer;
BEGIN
    SELECT s.max_batch_size INTO v_max FROM ledger.settings s;
    IF array_ndims(p_event_ids) > 1 OR array_ndims(p_lease_tokens) > 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event ids and lease tokens must be one-dimensional arrays',
            DETAIL = format('They have %s and %s dimensions.', array_ndims(p_event_ids), array_ndims(p_lease_tokens)),
            HINT = 'Pass a flat list: ARRAY[id1, id2, ...].';
    ELSIF p_event_ids IS NULL OR p_lease_tokens IS NULL
       OR array_position(p_event_ids, NULL) IS NOT NULL OR array_position(p_lease_tokens, NULL) IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'event ids and lease tokens must be arrays without NULLs',
            DETAIL = 'Each event of a report is named by its id and the token of the lease it was claimed with.',
            HINT = 'Pass the id and lease_token of each claim you report on.';
    ELSIF v_count > v_max THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL013',
            MESSAGE = format('a report of %s events is more than the %s allowed', v_count, v_max),
            DETAIL = 'The limit is ledger.settings.max_batch_size.',
            HINT = 'Report in several calls.';
    ELSIF cardinality(p_lease_tokens) <> v_count
          OR EXISTS (SELECT 1 FROM unnest(p_other_lengths) l WHERE l IS NOT NULL AND l <> v_count) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = format('the arrays of a report must all have one element per event (%s)', v_count),
            DETAIL = format('Lengths: %s event ids, %s lease tokens, others %s.', v_count,
                            cardinality(p_lease_tokens), p_other_lengths),
            HINT = 'Give every array the same length, or leave an optional one out.';
    ELSIF (SELECT count(DISTINCT i) FROM unnest(p_event_ids) i) <> v_count THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL021',
            MESSAGE = 'an event id appears more than once in the report',
            DETAIL = format('Event ids: %s.', p_event_ids),
            HINT = 'Report each event once.';
    END IF;
    PERFORM 1 FROM ledger.events e WHERE e.id = ANY (p_event_ids) ORDER BY e.id FOR UPDATE;
END
$$;
COMMENT ON FUNCTION ledger._checked_report(bigint[], uuid[], integer[]) IS
    'Checks the arrays of a report (AL021, AL013) and locks its events in id order.';
-- end db/functions/_checked_report.sql

COMMIT;
