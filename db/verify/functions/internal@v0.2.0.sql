-- Verify agentledger:functions/internal on pg
SELECT 'ledger._audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status, ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamptz)'::regprocedure,
       'ledger._as_api_event(ledger.events)'::regprocedure,
       'ledger._wake_workers(jsonb)'::regprocedure,
       'ledger._transition_hint(bigint, ledger.event_status)'::regprocedure;
