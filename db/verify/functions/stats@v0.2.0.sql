-- Verify agentledger:functions/stats on pg
DO $$
BEGIN
    ASSERT api.queue_stats() ? 'leases_expired', 'api.queue_stats reports leases_expired';
END
$$;
