-- Verify agentledger:tables/rule_checks on pg
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_constraint
             WHERE conname IN ('events_customer_id_valid', 'events_idempotency_key_valid',
                               'event_types_name_format', 'api_keys_name_format')
               AND pg_get_constraintdef(oid) LIKE '%ledger._is_%') = 4,
           'the CHECKs call the ledger._is_* functions';
END
$$;
