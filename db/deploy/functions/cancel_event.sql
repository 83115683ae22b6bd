-- Deploy agentledger:functions/cancel_event to pg
-- Written by `agentledger db functions` from db/functions/cancel_event.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

DROP FUNCTION api.cancel_event(bigint, text, text, text, timestamptz);

-- begin db/functions/cancel_event.sql
CREATE OR REPLACE FUNCTION api.cancel_event(
    p_event_id bigint,
    p_reason text,
    p_now timestamptz DEFAULT now(),
    p_key text DEFAULT NULL)
RETURNS api.event
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- A queued event: cancelled (failed). A failed ordered event that holds back its customer's later
-- ordered events: its failure is accepted, recorded as a note, and the line moves on.
DECLARE
    v_now timestamptz := ledger._checked_now(p_now);
    v_acting ledger.acting := ledger._acting(p_key, '{reviewer}');
    v_event ledger.events;
    v_result api.event;
BEGIN
    SELECT * INTO v_event FROM ledger.events e WHERE e.id = p_event_id FOR UPDATE;
    IF FOUND AND v_event.status = 'failed' AND v_event.ordered AND v_event.order_released_at IS NULL THEN
        PERFORM ledger._refuse_out_of_scope(v_acting, v_event.customer_id, v_event.event_type);
        PERFORM p_reason::ledger.reason;  -- the domain refuses one that is too long (23514)
        UPDATE ledger.events e
           SET version = e.version + 1, changed_by = v_acting.principal, changed_by_kind = v_acting.kind,
               changed_by_key = v_acting.api_key, change_reason = p_reason,
               change_details = jsonb_build_object('step', 'cancel', 'failure_accepted', true),
               updated_at = v_now, order_released_at = v_now
         WHERE e.customer_id = v_event.customer_id AND e.id = p_event_id
        RETURNING * INTO v_event;
        v_result := ledger._as_api_event(v_event);
    ELSE
        PERFORM ledger._require_status(p_event_id, 'queued', 'cancelled');
        v_result := ledger._transition_event(p_event_id, 'failed', v_acting, p_reason, NULL, NULL,
                                             p_now, 'cancel');
        UPDATE ledger.events e SET order_released_at = v_now
         WHERE e.id = p_event_id AND e.ordered
        RETURNING * INTO v_event;
    END IF;
    IF v_event.ordered THEN
        -- The customer's next ordered event may be claimed now.
        PERFORM ledger._wake_workers((SELECT jsonb_object_agg(q.event_type, q.n)
                                        FROM (SELECT o.event_type, count(*) AS n FROM ledger.events o
                                               WHERE o.customer_id = v_event.customer_id AND o.ordered
                                                 AND o.status = 'queued' GROUP BY o.event_type) q));
    END IF;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.cancel_event(bigint, text, timestamptz, text) IS
$$Cancels a queued event, with a reason (AL008 without one): it becomes failed and is never claimed.
Given a failed ordered event that holds back its customer's later ordered events, accepts its
failure (a note, with the reason): it stays failed and the line moves on. Any other status: AL003.$$;
GRANT EXECUTE ON FUNCTION api.cancel_event(bigint, text, timestamptz, text) TO agentledger_api;
-- end db/functions/cancel_event.sql

COMMIT;
