-- Deploy agentledger:types to pg
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TYPE ledger.event_status AS ENUM (
    'queued', 'processing', 'approved', 'rejected', 'completed', 'failed');
COMMENT ON TYPE ledger.event_status IS
$$Where an event is in its lifecycle:
queued     - waiting to be claimed once run_after has passed;
processing - claimed by a worker that holds its lease and is deciding it;
approved   - decided yes; the follow-up action (e.g. disburse the loan) is pending or running;
rejected   - decided no; the follow-up action (e.g. notify the customer) is pending or running;
completed  - the follow-up action succeeded; terminal;
failed     - attempts exhausted, a non-retryable error, a failed action or a cancel; an operator may re-queue it.
The allowed moves between them are the rows of ledger.transitions.$$;

CREATE TYPE ledger.actor_kind AS ENUM ('agent', 'human', 'system');
COMMENT ON TYPE ledger.actor_kind IS
$$Who made a change: agent - an AI agent or worker process; human - a person (reviewer, operator, a DBA in psql);
system - agentledger itself (lease rescue, scheduled maintenance).$$;

COMMIT;
