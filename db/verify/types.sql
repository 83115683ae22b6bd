-- Verify agentledger:types on pg
SELECT 'ledger.event_status'::regtype, 'ledger.actor_kind'::regtype;
DO $$
BEGIN
    -- The labels this change made (later changes may add more, e.g. types/in_review).
    ASSERT enum_range(NULL::ledger.event_status)::text[] @> '{queued,processing,approved,rejected,completed,failed}',
        'event_status labels';
END
$$;
