-- Verify agentledger:triggers/events on pg
DO $$
BEGIN
    ASSERT (SELECT prosrc LIKE '%processing%queued%attempts%' FROM pg_proc
             WHERE oid = 'ledger._check_status_change()'::regprocedure),
           'ledger._check_status_change counts attempts for raw status changes';
    ASSERT (SELECT prosrc LIKE '%NOT EXISTS%' FROM pg_proc WHERE oid = 'ledger._audit_status_changes()'::regprocedure),
           'ledger._audit_status_changes returns early when no status changed';
END
$$;
