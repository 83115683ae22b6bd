-- Verify agentledger:tables/event_types on pg
SELECT name, description, max_attempts, created_at FROM ledger.event_types WHERE false;
SELECT event_type, last_notified_at FROM ledger.wakeups WHERE false;
