-- Deploy agentledger:tables/reviews to pg
-- Human review as data: the policies that send an agent's decision to people, the review state an
-- event carries while it waits, deadlines per event type, and the lifecycle rows of the review
-- steps. Audited notes (a same-status row of ledger.transitions) record what happens without a
-- status change: the first of two approvals, a deadline breach.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.review_policies (
    event_type text PRIMARY KEY REFERENCES ledger.event_types (name),
    always_review boolean NOT NULL DEFAULT false,
    payload_field text
        CONSTRAINT review_policies_payload_field_format CHECK (payload_field ~ '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
    payload_above numeric,
    confidence_below numeric
        CONSTRAINT review_policies_confidence_range CHECK (confidence_below > 0 AND confidence_below <= 1),
    approvals_required smallint NOT NULL DEFAULT 1
        CONSTRAINT review_policies_approvals_range CHECK (approvals_required BETWEEN 1 AND 5),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_policies_threshold_complete CHECK ((payload_field IS NULL) = (payload_above IS NULL))
);
COMMENT ON TABLE ledger.review_policies IS
$$When an agent's decision of an event of this type waits for people instead of taking effect: always,
when a number in the payload is above a threshold, or when the agent's confidence is below one (any
rule that holds sends it to review). A type without a row is never reviewed. DBAs manage the rows
with SQL; a change applies to decisions made after it.$$;
COMMENT ON COLUMN ledger.review_policies.event_type IS 'The event type the policy is for.';
COMMENT ON COLUMN ledger.review_policies.always_review IS 'Every decision of this type is reviewed.';
COMMENT ON COLUMN ledger.review_policies.payload_field IS 'A top-level field of the payload holding a number, e.g. amount; with payload_above.';
COMMENT ON COLUMN ledger.review_policies.payload_above IS 'Review when payload_field is a number above this (e.g. amount > 10000).';
COMMENT ON COLUMN ledger.review_policies.confidence_below IS 'Review when the decision''s result has no number "confidence", or one below this (0 to 1).';
COMMENT ON COLUMN ledger.review_policies.approvals_required IS 'How many distinct people must approve (2 for four-eyes); one rejection is enough to reject.';
COMMENT ON COLUMN ledger.review_policies.created_at IS 'When the policy was created.';
COMMENT ON COLUMN ledger.review_policies.updated_at IS 'When the policy last changed (kept by the UPDATE that changes it).';

ALTER TABLE ledger.events
    ADD COLUMN proposed_status ledger.event_status,
    ADD COLUMN proposed_by text,
    ADD COLUMN approvals_required smallint,
    ADD COLUMN approved_by text[],
    ADD COLUMN review_started_at timestamptz,
    ADD CONSTRAINT events_review_state CHECK (
        status <> 'in_review'
        OR proposed_status IN ('approved', 'rejected') AND proposed_by IS NOT NULL
           AND approvals_required BETWEEN 1 AND 5 AND approved_by IS NOT NULL
           AND cardinality(approved_by) < approvals_required AND review_started_at IS NOT NULL);
COMMENT ON COLUMN ledger.events.proposed_status IS 'The decision an agent proposed when the event went to review (approved or rejected).';
COMMENT ON COLUMN ledger.events.proposed_by IS 'Who proposed it: that actor may not review it.';
COMMENT ON COLUMN ledger.events.approvals_required IS 'How many distinct reviewers must approve, fixed when the review started.';
COMMENT ON COLUMN ledger.events.approved_by IS 'The reviewers who have approved in this review so far.';
COMMENT ON COLUMN ledger.events.review_started_at IS 'When the event went to review (the queue is oldest first).';
-- Auditors read every column of events but the lease tokens, and the policies.
GRANT SELECT (proposed_status, proposed_by, approvals_required, approved_by, review_started_at)
    ON ledger.events TO agentledger_auditor;
GRANT SELECT ON ledger.review_policies TO agentledger_auditor;
CREATE INDEX events_review_queue_idx ON ledger.events (review_started_at, id) WHERE status = 'in_review';

-- Deadlines per event type, and when an event breached one (marked once, by api.mark_deadline_breaches).
ALTER TABLE ledger.event_types
    ADD COLUMN decide_within interval
        CONSTRAINT event_types_decide_within_positive CHECK (decide_within > interval '0'),
    ADD COLUMN review_within interval
        CONSTRAINT event_types_review_within_positive CHECK (review_within > interval '0');
COMMENT ON COLUMN ledger.event_types.decide_within IS 'An event of this type must be decided within this long of its submission, or it is escalated (NULL: no deadline).';
COMMENT ON COLUMN ledger.event_types.review_within IS 'An event of this type in review must be decided by reviewers within this long, or it is escalated (NULL: no deadline).';
ALTER TABLE ledger.events
    ADD COLUMN decide_breached_at timestamptz,
    ADD COLUMN review_breached_at timestamptz;
COMMENT ON COLUMN ledger.events.decide_breached_at IS 'When the event was found undecided past its type''s decide_within (escalated once).';
COMMENT ON COLUMN ledger.events.review_breached_at IS 'When the event was found still in review past its type''s review_within (escalated once per review).';
GRANT SELECT (decide_breached_at, review_breached_at) ON ledger.events TO agentledger_auditor;

-- Notes: a change recorded in the audit trail without a change of status.
ALTER TABLE ledger.transitions
    DROP CONSTRAINT transitions_change_status,
    ADD CONSTRAINT transitions_same_status_is_a_note CHECK (from_status <> to_status OR name = 'note');
COMMENT ON COLUMN ledger.transitions.name IS
    'The lifecycle step this move is (claim, decide, propose, review, complete, fail, release, requeue, cancel), or note: an audited change that keeps the status.';
INSERT INTO ledger.transitions (from_status, to_status, name, reason_required, description) VALUES
    ('processing', 'in_review', 'propose', false,
     'The decision goes to people: the event''s review policy holds, so the agent''s decision is a proposal.'),
    ('in_review', 'approved', 'review', true, 'Reviewers approved: as many distinct people as the review needs, none of them the proposer.'),
    ('in_review', 'rejected', 'review', true, 'A reviewer rejected; one rejection ends the review.'),
    ('in_review', 'in_review', 'note', true,
     'A reviewer approved and the review needs more approvals (four-eyes), or the review deadline passed.'),
    ('queued', 'queued', 'note', true, 'The decision deadline passed while the event waited (escalated once).'),
    ('processing', 'processing', 'note', true, 'The decision deadline passed while a worker held the event (escalated once).');

COMMIT;
