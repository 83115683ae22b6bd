-- Deploy agentledger:functions/_report_digest to pg
-- Written by `agentledger db functions` from db/functions/_report_digest.sql: edit that file, not this one.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_report_digest.sql
CREATE OR REPLACE FUNCTION ledger._report_digest(p_content jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN sha256(convert_to(p_content::text, 'UTF8'));
COMMENT ON FUNCTION ledger._report_digest(jsonb) IS
    'sha256 of what a report says about one event (its decision, error, details ...): a repeat of the same report has the same digest.';
-- end db/functions/_report_digest.sql

COMMIT;
