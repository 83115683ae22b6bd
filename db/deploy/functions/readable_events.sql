-- Deploy agentledger:functions/readable_events to pg
-- Written by `agentledger db functions` from db/functions/readable_events.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/readable_events.sql
CREATE OR REPLACE FUNCTION api.readable_events(p_event_ids bigint[], p_key text)
RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- For a stream that is shared by many readers and filtered per reader: the database, not the
-- API, decides what each key may see.
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'stream', NULL,
                                             jsonb_build_object('events', cardinality(p_event_ids)));
BEGIN
    IF cardinality(p_event_ids) > 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('%s event ids are more than the limit of 10000', cardinality(p_event_ids)),
            HINT = 'Ask about at most 10000 events at a time.';
    END IF;
    RETURN QUERY
    SELECT e.id FROM ledger.events e
     WHERE e.id = ANY (p_event_ids) AND ledger._may_read(v_reader, e)
     ORDER BY e.id;
END
$$;
COMMENT ON FUNCTION api.readable_events(bigint[], text) IS
    'The events among p_event_ids that the API key p_key may read (ledger._may_read): the API filters its shared stream of changes with it, per subscriber. An auditor''s read is recorded.';
GRANT EXECUTE ON FUNCTION api.readable_events(bigint[], text) TO agentledger_api;
-- end db/functions/readable_events.sql

COMMIT;
