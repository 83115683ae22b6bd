-- Revert agentledger:types/in_review from pg
-- PostgreSQL cannot remove a label from an enum. Once the later changes are reverted nothing uses
-- in_review (their reverts refuse while an event is in review), so the label stays, unused, and a
-- new deploy finds it (ADD VALUE IF NOT EXISTS). The description goes back to the old one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

COMMENT ON TYPE ledger.event_status IS
$$Where an event is in its lifecycle:
queued     - waiting to be claimed once run_after has passed;
processing - claimed by a worker that holds its lease and is deciding it;
approved   - decided yes; the follow-up action (e.g. disburse the loan) is pending or running;
rejected   - decided no; the follow-up action (e.g. notify the customer) is pending or running;
completed  - the follow-up action succeeded; terminal;
failed     - attempts exhausted, a non-retryable error, a failed action or a cancel; an operator may re-queue it.
The allowed moves between them are the rows of ledger.transitions.$$;

COMMIT;
