-- Verify agentledger:tables/settings on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM ledger.settings) = 1, 'ledger.settings must hold exactly one row';
END
$$;
