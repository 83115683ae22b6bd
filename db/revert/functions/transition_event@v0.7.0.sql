-- Revert agentledger:functions/transition_event from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/transition_event.sql
CREATE OR REPLACE FUNCTION api.transition_event(
    p_event_id bigint,
    p_status text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_reason text DEFAULT NULL,
    p_result jsonb DEFAULT NULL,
    p_details jsonb DEFAULT NULL,
    p_now timestamptz DEFAULT now(),
    p_lease_token uuid DEFAULT NULL)
RETURNS api.event
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN ledger._transition_event(p_event_id, p_status, p_actor, p_actor_kind, p_reason, p_result,
                                p_details, p_now, NULL, p_lease_token);
COMMENT ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid) IS
$$Moves an event to p_status if ledger.transitions allows it (AL003 otherwise; AL001 if it does not
exist), recording actor, reason and details in the audit trail. To processing (a claim, once
run_after has passed): the actor takes a lease. To approved/rejected: p_result is the decision
result. To failed: p_reason is the error. Re-queue and cancel are operator steps: api.requeue_event
and api.cancel_event. While another holder's lease is live, the event is refused (AL009) unless
p_lease_token is that lease's token; a lease this function took lets its named owner (p_actor) go on
without one. p_now may differ from now() only for the owner (tests move the clock).$$;
GRANT EXECUTE ON FUNCTION api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid)
    TO agentledger_api, agentledger_worker;
-- end db/functions/transition_event.sql

COMMIT;
