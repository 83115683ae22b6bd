-- Verify agentledger:functions/submit on pg
SELECT 'api.submit_events(jsonb, text, text, timestamptz)'::regprocedure,
       'api.submit_event(text, text, jsonb, integer, timestamptz, text, uuid, bigint, text, text, timestamptz)'::regprocedure;
DO $$
BEGIN
    ASSERT has_function_privilege('agentledger_api',
        'api.submit_events(jsonb, text, text, timestamptz)', 'EXECUTE'), 'api role may submit';
END
$$;
