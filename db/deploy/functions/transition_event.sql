-- Deploy agentledger:functions/transition_event to pg
-- Written by `agentledger db functions` from db/functions/transition_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid);

-- begin db/functions/transition_event.sql
CREATE OR REPLACE FUNCTION api.transition_event(
    p_event_id bigint,
    p_status text,
    p_reason text DEFAULT NULL,
    p_result jsonb DEFAULT NULL,
    p_details jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now(),
    p_lease_token uuid DEFAULT NULL,
    p_key text DEFAULT NULL)
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- PL/pgSQL, not a SQL body: a SQL body would pin the signature of ledger._transition_event, which
-- then could not be reworked.
BEGIN
    RETURN ledger._transition_event(p_event_id, p_status, ledger._acting(p_key, '{worker}'), p_reason, p_result,
                                    p_details, p_now, NULL, p_lease_token);
END
$$;
COMMENT ON FUNCTION api.transition_event(bigint, text, text, jsonb, jsonb, timestamptz, uuid, text) IS
$$Moves an event to p_status if ledger.transitions allows it (AL003 otherwise; AL001 if it does not
exist), as the principal of the API key p_key (a worker key: 42501 for others) or of the login,
recording reason and details in the audit trail. To processing (a claim, once run_after has passed):
the principal takes a lease. Out of processing, approved or rejected: only the principal holding the
lease may report (AL009), with its token when the lease was taken through the worker protocol. To
approved/rejected: p_result is the decision result. To failed: p_reason is the error. Re-queue and
cancel are operator steps: api.requeue_event and api.cancel_event. p_now may differ from now() only
for the owner (tests move the clock).$$;
GRANT EXECUTE ON FUNCTION api.transition_event(bigint, text, text, jsonb, jsonb, timestamptz, uuid, text)
    TO agentledger_api, agentledger_worker;
-- end db/functions/transition_event.sql

COMMIT;
