-- Verify agentledger:types on pg
SELECT 'ledger.event_status'::regtype, 'ledger.actor_kind'::regtype;
DO $$
BEGIN
    ASSERT enum_range(NULL::ledger.event_status)::text = '{queued,processing,approved,rejected,completed,failed}',
        'event_status labels';
END
$$;
