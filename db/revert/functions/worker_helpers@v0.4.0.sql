-- Revert agentledger:functions/worker_helpers from pg
BEGIN;
DROP FUNCTION ledger._wake_action_workers(jsonb);
DROP FUNCTION ledger._count_by_type(text[]);
DROP FUNCTION ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text);
DROP FUNCTION ledger._report_digest(jsonb);
DROP FUNCTION ledger._refuse_bad_outcome_inputs(text[], jsonb[], integer, text);
DROP FUNCTION ledger._checked_report(bigint[], uuid[], integer[]);
DROP FUNCTION ledger._flat_length(anyarray);
DROP FUNCTION ledger._checked_claim(integer, text[]);
DROP FUNCTION ledger._retry_delay(integer);
COMMIT;
