-- Verify agentledger:tables/audit on pg
SELECT seq, customer_id, event_id, version, from_status, to_status, actor, actor_kind, db_user, reason, details,
       attempt, recorded_at, prev_hash, hash
FROM ledger.audit_log WHERE false;
SELECT id, first_seq, last_seq, row_count, prev_digest, digest, sealed_by, sealed_at
FROM ledger.audit_seals WHERE false;
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_trigger
            WHERE tgrelid IN ('ledger.audit_log'::regclass, 'ledger.audit_seals'::regclass)
              AND tgname LIKE '\_100\_refuse\_%' AND tgenabled = 'A') = 4,
        'the audit immutability triggers must exist and be ENABLE ALWAYS';
END
$$;
