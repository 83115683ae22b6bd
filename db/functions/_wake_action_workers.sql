CREATE OR REPLACE FUNCTION ledger._wake_action_workers(p_pending jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
-- p_pending: {"<event_type>": <count>, ...} of decided events whose follow-up action just became
-- claimable (handed off, released, or its lease rescued). Rarer than new work, so not throttled.
BEGIN
    IF p_pending IS NOT NULL AND p_pending <> '{}'::jsonb THEN
        PERFORM pg_notify('agentledger_work', CASE WHEN octet_length(p_pending::text) > 7000
                                                   THEN '{"actions": null}'
                                                   ELSE jsonb_build_object('actions', p_pending)::text END);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._wake_action_workers(jsonb) IS
    'Announces decided events whose follow-up action may be claimed, on channel agentledger_work with payload {"actions": {"<type>": <count>}}.';
