-- Deploy agentledger:functions/requeue_event to pg
-- Written by agentledger/function_changes.py from db/functions/requeue_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/requeue_event.sql
CREATE OR REPLACE FUNCTION api.requeue_event(
    p_event_id bigint,
    p_reason text,
    p_actor text DEFAULT NULL,
    p_actor_kind text DEFAULT 'human',
    p_now timestamptz DEFAULT now())
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_event api.event;
BEGIN
    PERFORM ledger._require_status(p_event_id, 'failed', 're-queued');
    v_event := ledger._transition_event(p_event_id, 'queued', p_actor, p_actor_kind, p_reason, NULL, NULL,
                                        p_now, 'requeue');
    -- Back in the queue, an ordered event takes its place in its customer's order again.
    UPDATE ledger.events e SET order_released_at = NULL
     WHERE e.id = p_event_id AND e.order_released_at IS NOT NULL;
    RETURN v_event;
END
$$;
COMMENT ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) IS
    'Operator re-queue of a failed event, with a reason (AL008 without one): back to queued with its attempts reset, and workers are woken.';
GRANT EXECUTE ON FUNCTION api.requeue_event(bigint, text, text, text, timestamptz) TO agentledger_api;
-- end db/functions/requeue_event.sql

COMMIT;
