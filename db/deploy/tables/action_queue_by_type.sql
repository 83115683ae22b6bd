-- Deploy agentledger:tables/action_queue_by_type to pg
-- The action queue (decided events whose follow-up action is pending) by event type, in claim
-- order: a claim of actions for some types reads their queues only, not the pending actions of
-- types no worker of theirs runs.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE INDEX events_action_by_type_idx ON ledger.events (event_type, priority DESC, id)
    WHERE status IN ('approved', 'rejected') AND lease_token IS NULL;
COMMENT ON INDEX ledger.events_action_by_type_idx IS
    'Claim order of pending follow-up actions within an event type: claims that name types read only their own.';

COMMIT;
