-- Deploy agentledger:tables/transitions to pg
-- The lifecycle as data: every allowed (from, to) move. A trigger on ledger.events refuses any status
-- change not listed here, whoever writes it. A reference table (same for every customer).
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TABLE ledger.transitions (
    from_status ledger.event_status NOT NULL,
    to_status ledger.event_status NOT NULL,
    name text NOT NULL,
    reason_required boolean NOT NULL DEFAULT false,
    description text NOT NULL,
    PRIMARY KEY (from_status, to_status),
    CONSTRAINT transitions_change_status CHECK (from_status <> to_status)
);
COMMENT ON TABLE ledger.transitions IS
    'Every allowed status change of an event. Anything not listed is refused with SQLSTATE AL003.';
COMMENT ON COLUMN ledger.transitions.from_status IS 'Status before the change.';
COMMENT ON COLUMN ledger.transitions.to_status IS 'Status after the change.';
COMMENT ON COLUMN ledger.transitions.name IS 'The lifecycle step this move is (claim, decide, complete, fail, release, requeue, cancel).';
COMMENT ON COLUMN ledger.transitions.reason_required IS 'Whether the change must carry a non-empty reason.';
COMMENT ON COLUMN ledger.transitions.description IS 'When this move happens.';

INSERT INTO ledger.transitions (from_status, to_status, name, reason_required, description) VALUES
    ('queued', 'processing', 'claim', false, 'A worker claims the event and takes a lease on it.'),
    ('processing', 'approved', 'decide', false, 'The worker decides yes.'),
    ('processing', 'rejected', 'decide', false, 'The worker decides no.'),
    ('approved', 'completed', 'complete', false, 'The follow-up action of an approval succeeded.'),
    ('approved', 'failed', 'fail', false, 'The follow-up action of an approval failed for good.'),
    ('rejected', 'completed', 'complete', false, 'The follow-up action of a rejection succeeded.'),
    ('rejected', 'failed', 'fail', false, 'The follow-up action of a rejection failed for good.'),
    ('processing', 'queued', 'release', false, 'The lease expired, the worker gave the event back, or it failed and will be retried later.'),
    ('processing', 'failed', 'fail', false, 'Attempts are exhausted or the error is not retryable.'),
    ('failed', 'queued', 'requeue', true, 'An operator re-queues a failed event, with a reason.'),
    ('queued', 'failed', 'cancel', true, 'An operator cancels a queued event, with a reason.');

COMMIT;
