-- Verify agentledger:triggers/events on pg
DO $$
BEGIN
    ASSERT (SELECT t.tgqual IS NOT NULL AND t.tgenabled = 'A' FROM pg_trigger t
             WHERE t.tgrelid = 'ledger.events'::regclass AND t.tgname = '_100_check_status_change'),
           'the row trigger has a WHEN clause and is ENABLE ALWAYS';
    ASSERT (SELECT prosrc LIKE '%NOT EXISTS%ledger.transitions%INSERT INTO ledger.audit_log%'
              FROM pg_proc WHERE oid = 'ledger._audit_status_changes()'::regprocedure),
           'ledger._audit_status_changes returns early when no status changed, then checks the changes before writing them';
    ASSERT (SELECT prosrc LIKE '%processing%queued%attempts%' FROM pg_proc
             WHERE oid = 'ledger._check_status_change()'::regprocedure),
           'ledger._check_status_change counts attempts for raw status changes';
END
$$;
