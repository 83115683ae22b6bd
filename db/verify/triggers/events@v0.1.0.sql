-- Verify agentledger:triggers/events on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_trigger
            WHERE tgrelid = 'ledger.events'::regclass AND NOT tgisinternal AND tgenabled = 'A'
              AND tgname IN ('_050_refuse_write_once_change', '_100_check_status_change',
                             '_500_audit_submits', '_500_audit_status_changes', '_050_refuse_delete',
                             '_050_refuse_truncate')) = 6,
        'the six event triggers must exist and be ENABLE ALWAYS';
END
$$;
