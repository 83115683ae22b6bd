-- Verify agentledger:functions/read on pg
SELECT 'api.get_event(bigint)'::regprocedure,
       'api.list_events(text, text, text, timestamptz, timestamptz, bigint, integer)'::regprocedure,
       'api.event_history(bigint)'::regprocedure;
