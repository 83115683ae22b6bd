-- Deploy agentledger:types/in_review to pg
-- A status of its own for decisions that wait for people. An enum label is usable only once the
-- transaction that added it has committed, so what uses it comes in later changes.
BEGIN;
SET LOCAL ROLE agentledger_owner;

ALTER TYPE ledger.event_status ADD VALUE IF NOT EXISTS 'in_review' AFTER 'processing';
COMMENT ON TYPE ledger.event_status IS
$$Where an event is in its lifecycle:
queued     - waiting to be claimed once run_after has passed;
processing - claimed by a worker that holds its lease and is deciding it;
in_review  - decided by an agent, but its type's review policy asks people: the decision is a
             proposal until reviewers approve or reject the event (ledger.review_policies);
approved   - decided yes; the follow-up action (e.g. disburse the loan) is pending or running;
rejected   - decided no; the follow-up action (e.g. notify the customer) is pending or running;
completed  - the follow-up action succeeded; terminal;
failed     - attempts exhausted, a non-retryable error, a failed action or a cancel; an operator may re-queue it.
The allowed moves between them are the rows of ledger.transitions.$$;

COMMIT;
