-- Deploy agentledger:functions/_transition_hint to pg
-- Written by `agentledger db functions` from db/functions/_transition_hint.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_transition_hint.sql
CREATE OR REPLACE FUNCTION ledger._transition_hint(p_event_id bigint, p_status ledger.event_status) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
RETURN (
    SELECT CASE
        WHEN count(*) = 0 THEN format('event %s is %s; %s is terminal', p_event_id, p_status, p_status)
        ELSE format('event %s is %s; from %s it may go to %s', p_event_id, p_status, p_status,
                    string_agg(t.to_status::text, ', ' ORDER BY t.to_status))
    END
    FROM ledger.transitions t
    WHERE t.from_status = p_status AND t.to_status <> p_status);  -- a note is not a move
COMMENT ON FUNCTION ledger._transition_hint(bigint, ledger.event_status) IS
    'The HINT of a refused transition: where the event may go from its status, read from ledger.transitions.';
-- end db/functions/_transition_hint.sql

COMMIT;
