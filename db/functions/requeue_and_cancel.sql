CREATE OR REPLACE FUNCTION api.requeue_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_status(p_event_id, 'failed', 're-queued');
    RETURN ledger._transition_event(p_event_id, 'queued', p_actor, p_actor_kind, p_reason, NULL, NULL,
                                    p_now, 'requeue');
END
$$;
COMMENT ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) IS
    'Operator re-queue of a failed event, with a reason (AL008 without one): back to queued with its attempts reset, and workers are woken.';
GRANT EXECUTE ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) TO agentledger_api;

CREATE OR REPLACE FUNCTION api.cancel_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_status(p_event_id, 'queued', 'cancelled');
    RETURN ledger._transition_event(p_event_id, 'failed', p_actor, p_actor_kind, p_reason, NULL, NULL,
                                    p_now, 'cancel');
END
$$;
COMMENT ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) IS
    'Cancels a queued event, with a reason (AL008 without one): it becomes failed and is never claimed.';
GRANT EXECUTE ON FUNCTION api.cancel_event(bigint, text, text, text, timestamptz) TO agentledger_api;
