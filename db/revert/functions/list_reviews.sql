-- Revert agentledger:functions/list_reviews from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.list_reviews(text, integer, text);

-- begin db/functions/list_reviews.sql
CREATE OR REPLACE FUNCTION api.list_reviews(
    p_event_type text DEFAULT NULL,
    p_limit integer DEFAULT 100)
RETURNS SETOF api.review
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
     ORDER BY e.review_started_at, e.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_reviews(text, integer) IS
    'The review queue, oldest first: events in review (of p_event_type, or all), each with the proposal, its proposer and reason, the result proposed, and the approvals so far.';
GRANT EXECUTE ON FUNCTION api.list_reviews(text, integer) TO agentledger_api, agentledger_auditor;
-- end db/functions/list_reviews.sql

COMMIT;
