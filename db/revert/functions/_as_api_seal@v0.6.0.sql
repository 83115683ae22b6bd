-- Revert agentledger:functions/_as_api_seal from pg
-- Written by agentledger/function_changes.py: the body this change replaced.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- begin db/functions/_as_api_seal.sql
CREATE OR REPLACE FUNCTION ledger._as_api_seal(s ledger.audit_seals) RETURNS api.seal
LANGUAGE sql IMMUTABLE
RETURN ROW(s.id, s.first_seq, s.last_seq, s.row_count, encode(s.prev_digest, 'hex'),
           encode(s.digest, 'hex'), s.sealed_by, s.sealed_at)::api.seal;
COMMENT ON FUNCTION ledger._as_api_seal(ledger.audit_seals) IS 'A seal as clients see it, digests in hex.';
-- end db/functions/_as_api_seal.sql

COMMIT;
