-- Revert agentledger:functions/_count_by_type from pg
-- Written by `agentledger db functions`: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_count_by_type.sql
CREATE OR REPLACE FUNCTION ledger._count_by_type(p_event_types text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- The wake-up payload of a statement: {"<event_type>": <count>, ...}, NULL when there is none.
RETURN (SELECT jsonb_object_agg(t.event_type, t.n)
          FROM (SELECT u.event_type, count(*) AS n FROM unnest(p_event_types) u (event_type)
                 GROUP BY u.event_type) t);
COMMENT ON FUNCTION ledger._count_by_type(text[]) IS
    'How many of each event type a list holds, as {"<type>": <count>} (NULL for none): what ledger._wake_workers and ledger._wake_action_workers announce.';
-- end db/functions/_count_by_type.sql

COMMIT;
