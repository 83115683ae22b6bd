-- Deploy agentledger:tables/events_fencing to pg
-- Columns for fenced leases. A lease taken through the worker protocol (api.claim_events,
-- api.claim_actions) is fenced: only its token acts under it. last_lease_token and last_report
-- remember the token and step of the latest report, so the same report sent again is answered
-- "already done", not applied twice.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- A function whose SQL body takes the events row type blocks ALTER TABLE: drop it around the change.
DROP FUNCTION ledger._as_api_event(ledger.events);
ALTER TABLE ledger.events
    ADD COLUMN lease_fenced boolean NOT NULL DEFAULT false,
    ADD COLUMN last_lease_token uuid,
    ADD COLUMN last_report text,
    ADD COLUMN last_report_digest bytea,
    ADD CONSTRAINT events_fenced_lease_exists CHECK (lease_token IS NOT NULL OR NOT lease_fenced),
    ADD CONSTRAINT events_last_report_known CHECK (
        (last_report IS NULL) = (last_lease_token IS NULL)
        AND last_report IN ('decide', 'complete', 'fail', 'release', 'transition'));

-- The action queue: decided events whose follow-up action is pending (no lease), in claim order.
-- Decided events under a lease stay out of it, so claims never walk past running actions.
CREATE INDEX events_action_order_idx ON ledger.events (priority DESC, id)
    WHERE status IN ('approved', 'rejected') AND lease_token IS NULL;
-- Claims of given types, the usual case for workers with handlers for a few types.
CREATE INDEX events_claim_by_type_idx ON ledger.events (event_type, priority DESC, id) WHERE status = 'queued';

COMMENT ON COLUMN ledger.events.lease_fenced IS
    'True when the lease was taken through the worker protocol: only its token acts under it. A lease taken by api.transition_event also lets its named owner act without the token.';
COMMENT ON COLUMN ledger.events.last_lease_token IS
    'Token presented with the latest report (decide, complete, fail, release, or a transition given a token). The same report sent again is answered already_done. Cleared when a lease is rescued or taken over.';
COMMENT ON COLUMN ledger.events.last_report IS
    'The step of the latest report made with last_lease_token: decide, complete, fail, release or transition.';
COMMENT ON COLUMN ledger.events.last_report_digest IS
    'sha256 of what the latest report said (decision, error, details ...), so only the same report sent again is answered already_done.';
COMMENT ON INDEX ledger.events_action_order_idx IS
    'Claim order of decided events whose follow-up action is pending: highest priority first, then oldest.';
COMMENT ON INDEX ledger.events_claim_by_type_idx IS
    'Claim order within an event type: claims that name types read only their own queued events.';

-- begin db/functions/_as_api_event.sql (copied by db/sync_functions.py; edit that file, then run it)
CREATE FUNCTION ledger._as_api_event(e ledger.events) RETURNS api.event
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ROW(e.id, e.customer_id, e.event_type, e.status, e.payload, e.priority, e.attempts,
           e.max_attempts, e.run_after, e.lease_owner, e.lease_expires_at, e.idempotency_key, e.result,
           e.last_error, e.last_error_type, e.correlation_id, e.caused_by_event_id, e.version,
           e.changed_by, e.changed_by_kind, e.change_reason, e.created_at, e.updated_at)::api.event;
COMMENT ON FUNCTION ledger._as_api_event(ledger.events) IS
    'An events row as clients see it (api.event): without the lease token.';
-- end db/functions/_as_api_event.sql

GRANT SELECT (lease_fenced, last_report, last_report_digest) ON ledger.events TO agentledger_auditor;

COMMIT;
