-- Verify agentledger:functions/worker_helpers on pg
SELECT 'ledger._retry_delay(integer)'::regprocedure,
       'ledger._checked_claim(integer, text[])'::regprocedure,
       'ledger._checked_report(bigint[], uuid[], integer[])'::regprocedure,
       'ledger._refuse_bad_outcome_inputs(text[], jsonb[], integer, text)'::regprocedure,
       'ledger._report_outcomes(bigint[], uuid[], bytea[], bigint[], text, text)'::regprocedure,
       'ledger._report_digest(jsonb)'::regprocedure,
       'ledger._flat_length(anyarray)'::regprocedure,
       'ledger._count_by_type(text[])'::regprocedure,
       'ledger._wake_action_workers(jsonb)'::regprocedure;
