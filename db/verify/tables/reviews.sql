-- Verify agentledger:tables/reviews on pg
SELECT event_type, always_review, payload_field, payload_above, confidence_below, approvals_required
  FROM ledger.review_policies WHERE false;
SELECT proposed_status, proposed_by, approvals_required, approved_by, review_started_at, decide_breached_at,
       review_breached_at FROM ledger.events WHERE false;
SELECT decide_within, review_within FROM ledger.event_types WHERE false;
DO $$ BEGIN
    ASSERT (SELECT count(*) FROM ledger.transitions WHERE 'in_review' IN (from_status, to_status)) = 4,
        'the review steps are rows of ledger.transitions';
    ASSERT (SELECT count(*) FROM ledger.transitions WHERE from_status = to_status
               AND from_status IN ('in_review', 'queued', 'processing')) = 3,
        'notes: in review, queued and processing';
END $$;
