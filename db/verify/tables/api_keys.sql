-- Verify agentledger:tables/api_keys on pg
SELECT id, name, role, lookup_prefix, secret_sha256, created_at, created_by, revoked_at, revoked_by,
       revoke_reason
  FROM ledger.api_keys WHERE false;
