-- Deploy agentledger:functions/_status_change_problem to pg
-- Written by `agentledger db functions` from db/functions/_status_change_problem.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_status_change_problem.sql
CREATE OR REPLACE FUNCTION ledger._status_change_problem(
    p_allowed boolean, p_reason_required boolean, p_old_version integer, p_new_version integer,
    p_reason text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
-- The rules of a status change (or a note), stated once for both status triggers: the row trigger
-- asks it for each row it sees, the statement trigger in one set-based query (inlined there).
-- p_allowed: ledger.transitions has a row for the move; p_reason_required: that row's flag.
RETURN CASE
    WHEN NOT p_allowed THEN 'transition'
    WHEN p_new_version IS DISTINCT FROM p_old_version + 1 THEN 'version'
    WHEN p_reason_required AND coalesce(btrim(p_reason), '') = '' THEN 'reason'
END;
COMMENT ON FUNCTION ledger._status_change_problem(boolean, boolean, integer, integer, text) IS
    'What is wrong with a status change: transition (not in ledger.transitions), version (not moved by one), reason (required and missing), or NULL.';
-- end db/functions/_status_change_problem.sql

COMMIT;
