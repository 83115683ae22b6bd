-- Verify agentledger:tables/transitions on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM ledger.transitions) >= 11, 'ledger.transitions must list the lifecycle';
END
$$;
