-- Verify agentledger:functions/transition on pg
SELECT 'api.transition_event(bigint, text, text, text, text, jsonb, jsonb, timestamptz, uuid)'::regprocedure,
       'ledger._refuse_foreign_lease(ledger.events, uuid, text, timestamptz)'::regprocedure,
       'api.requeue_event(bigint, text, text, text, timestamptz)'::regprocedure,
       'api.cancel_event(bigint, text, text, text, timestamptz)'::regprocedure;
