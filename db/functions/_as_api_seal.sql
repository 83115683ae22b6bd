CREATE OR REPLACE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
RETURN ROW(s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'),
           encode(s.digest, 'hex'), s.sealed_by, s.sealed_at)::api.seal;
COMMENT ON FUNCTION ledger._as_api_seal(ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';
