-- Deploy agentledger:functions/list_reviews to pg
-- Written by `agentledger db functions` from db/functions/list_reviews.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_reviews(text, integer);

-- begin db/functions/list_reviews.sql
CREATE OR REPLACE FUNCTION api.list_reviews(
    p_event_type text DEFAULT NULL,
    p_limit integer DEFAULT 100,
    p_key text DEFAULT NULL)
RETURNS SETOF api.review
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_reader ledger.acting := ledger._reader(p_key, 'list_reviews', NULL,
                                             jsonb_strip_nulls(jsonb_build_object('event_type', p_event_type)));
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL019',
            MESSAGE = format('limit %s is out of range', coalesce(p_limit::text, 'NULL')),
            HINT = 'Ask for 1 to 1000 reviews at a time.';
    END IF;
    PERFORM p_event_type::ledger.type_name;  -- a type no event could have is refused (23514)
    RETURN QUERY
    SELECT e.id, e.customer_id, e.event_type, e.payload, e.proposed_status, e.proposed_by,
           p.reason, e.result, e.approvals_required, e.approved_by, e.review_started_at, e.created_at
      FROM ledger.events e
      LEFT JOIN LATERAL (SELECT a.reason FROM ledger.audit_log a
                          WHERE a.event_id = e.id AND a.to_status = 'in_review' AND a.from_status = 'processing'
                          ORDER BY a.seq DESC LIMIT 1) p ON true
     WHERE e.status = 'in_review' AND (p_event_type IS NULL OR e.event_type = p_event_type)
       AND ledger._may_read(v_reader, e)
     ORDER BY e.review_started_at, e.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_reviews(text, integer, text) IS
    'The review queue, oldest first: events in review (of p_event_type, or all) that the API key p_key may read, each with the proposal, its proposer and reason, the result proposed, and the approvals so far. An auditor''s read is recorded.';
GRANT EXECUTE ON FUNCTION api.list_reviews(text, integer, text) TO agentledger_api, agentledger_auditor;
-- end db/functions/list_reviews.sql

COMMIT;
