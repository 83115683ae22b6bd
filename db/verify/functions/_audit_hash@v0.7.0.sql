-- Verify agentledger:functions/_audit_hash on pg
-- Written by `agentledger db functions`: raises when the function is missing.
SELECT 'ledger._audit_hash(bytea, bigint, text, bigint, integer, ledger.event_status,
    ledger.event_status, text, ledger.actor_kind, text, text, jsonb, integer, timestamptz)'::regprocedure;
