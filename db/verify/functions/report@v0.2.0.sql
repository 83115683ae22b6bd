-- Verify agentledger:functions/report on pg
SELECT 'api.heartbeat_events(bigint[], uuid[], timestamptz)'::regprocedure,
       'api.decide_events(bigint[], uuid[], text[], text[], jsonb[], boolean, timestamptz)'::regprocedure,
       'api.complete_events(bigint[], uuid[], jsonb[], timestamptz)'::regprocedure,
       'api.fail_events(bigint[], uuid[], text[], text[], boolean[], timestamptz)'::regprocedure,
       'api.release_events(bigint[], uuid[], text, timestamptz)'::regprocedure;
