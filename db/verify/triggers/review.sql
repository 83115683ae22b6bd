-- Verify agentledger:triggers/review on pg
SELECT 'ledger._route_to_review()'::regprocedure;
DO $$ BEGIN
    ASSERT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '_080_route_to_review'
                      AND tgrelid = 'ledger.events'::regclass AND tgenabled = 'A'),
        'decisions are routed to review by an ENABLE ALWAYS trigger';
END $$;
