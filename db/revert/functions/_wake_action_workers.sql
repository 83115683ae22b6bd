-- Revert agentledger:functions/_wake_action_workers from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_wake_action_workers.sql
CREATE OR REPLACE FUNCTION ledger._wake_action_workers(p_pending jsonb) RETURNS void
LANGUAGE plpgsql AS $$
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
-- end db/functions/_wake_action_workers.sql

COMMIT;
