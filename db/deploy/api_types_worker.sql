-- Deploy agentledger:api_types_worker to pg
-- What the worker protocol returns: a claim carries the lease token (only the claimer ever sees it);
-- a report answers for each event it named.
BEGIN;
SET LOCAL ROLE agentledger_owner;

CREATE TYPE api.claim AS (
    id bigint,
    customer_id text,
    event_type text,
    status ledger.event_status,
    payload jsonb,
    priority smallint,
    attempts integer,
    max_attempts integer,
    lease_token uuid,
    lease_expires_at timestamptz,
    result jsonb,
    decision_reason text,
    correlation_id uuid,
    caused_by_event_id bigint,
    created_at timestamptz
);
COMMENT ON TYPE api.claim IS
$$An event a worker has just claimed, with its lease token: the token must be presented to heartbeat,
decide, complete, fail or release it. status is processing for a claim to decide, approved or
rejected for a claim to run the follow-up action (result and decision_reason then say what was
decided).$$;

CREATE TYPE api.report AS (
    event_id bigint,
    outcome text,
    status ledger.event_status,
    code text,
    message text,
    lease_expires_at timestamptz,
    run_after timestamptz
);
COMMENT ON TYPE api.report IS
$$The answer for one event of a report: outcome done (applied now), already_done (the same report
was applied before: a retry) or refused (code is the SQLSTATE, message says why: AL009 lease not
held, AL003 wrong status, AL001 no such event). status is the event's status afterwards;
lease_expires_at is set while the caller still holds the lease; run_after is when a retried or
released event may run again.$$;

COMMIT;
