-- Verify agentledger:tables/events on pg
SELECT id, customer_id, event_type, payload, status, priority, attempts, max_attempts, run_after,
       lease_owner, lease_token, lease_expires_at, idempotency_key, result, last_error, last_error_type,
       correlation_id, caused_by_event_id, version, changed_by, changed_by_kind, change_reason,
       change_details, created_at, updated_at
FROM ledger.events WHERE false;
