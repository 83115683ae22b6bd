-- Revert agentledger:functions/submit from pg
BEGIN;
DROP FUNCTION api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz);
DROP FUNCTION api.submit_events(jsonb, text, text, timestamptz);
DROP FUNCTION ledger._submission_problem(text, boolean, jsonb, integer, text, timestamptz);
DROP FUNCTION ledger._refuse_submission(text, bigint, integer, text, text, jsonb, integer, bigint);
DROP TYPE ledger.submission;
COMMIT;
