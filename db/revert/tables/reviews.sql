-- Revert agentledger:tables/reviews from pg
BEGIN;
SET LOCAL ROLE agentledger_owner;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger.events WHERE status = 'in_review') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'AL003',
            MESSAGE = 'events are in review: the review steps cannot be removed',
            HINT = 'Let reviewers decide them first (api.review_event).';
    END IF;
END
$$;
DELETE FROM ledger.transitions WHERE 'in_review' IN (from_status, to_status) OR from_status = to_status;
ALTER TABLE ledger.transitions
    DROP CONSTRAINT transitions_same_status_is_a_note,
    ADD CONSTRAINT transitions_change_status CHECK (from_status <> to_status);
COMMENT ON COLUMN ledger.transitions.name IS 'The lifecycle step this move is (claim, decide, complete, fail, release, requeue, cancel).';
DROP INDEX ledger.events_review_queue_idx;
ALTER TABLE ledger.events
    DROP CONSTRAINT events_review_state,
    DROP COLUMN review_started_at,
    DROP COLUMN approved_by,
    DROP COLUMN approvals_required,
    DROP COLUMN proposed_by,
    DROP COLUMN proposed_status;
ALTER TABLE ledger.events
    DROP COLUMN review_breached_at,
    DROP COLUMN decide_breached_at;
ALTER TABLE ledger.event_types
    DROP COLUMN review_within,
    DROP COLUMN decide_within;
DROP TABLE ledger.review_policies;

COMMIT;
