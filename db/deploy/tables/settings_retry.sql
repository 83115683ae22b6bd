-- Deploy agentledger:tables/settings_retry to pg
-- How far a retried event's run_after moves out: base * 2^(attempt - 1), capped. No jitter, so the
-- schedule is exact and testable; claims are spread by SKIP LOCKED, not by random delays.
BEGIN;
SET LOCAL ROLE agentledger_owner;

ALTER TABLE ledger.settings
    ADD COLUMN retry_base_delay interval NOT NULL DEFAULT '2 seconds'
        CONSTRAINT settings_retry_base_delay_range CHECK (retry_base_delay BETWEEN '0'::interval AND '1 day'::interval),
    ADD COLUMN retry_max_delay interval NOT NULL DEFAULT '1 hour'
        CONSTRAINT settings_retry_max_delay_range CHECK (retry_max_delay BETWEEN '0'::interval AND '30 days'::interval);

COMMENT ON COLUMN ledger.settings.retry_base_delay IS
    'Back-off before the first retry of a failed attempt (default 2 s); each further attempt doubles it.';
COMMENT ON COLUMN ledger.settings.retry_max_delay IS
    'Longest back-off between retries (default 1 hour).';

COMMIT;
