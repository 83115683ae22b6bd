-- Deploy agentledger:tables/release_limit to pg
-- A worker that claims and releases one event in a loop grew its history without bound, because a
-- release gives back the attempt its claim counted. Each event now counts its releases; past
-- ledger.settings.free_releases a release keeps the attempt, so the loop ends when attempts do.
BEGIN;
SET LOCAL ROLE agentledger_owner;

-- No DEFAULT in ADD COLUMN (refused while functions use the row type of events); set after. Events
-- from before this change read NULL, which counts as no release.
ALTER TABLE ledger.events ADD COLUMN releases integer
    CONSTRAINT events_releases_counted CHECK (releases >= 0);
ALTER TABLE ledger.events ALTER COLUMN releases SET DEFAULT 0;
GRANT SELECT (releases) ON ledger.events TO agentledger_auditor;  -- every column but the lease tokens
COMMENT ON COLUMN ledger.events.releases IS
    'How often a worker gave the event back unworked (api.release_events; NULL: never, from before the count); past ledger.settings.free_releases a release counts as an attempt.';

ALTER TABLE ledger.settings ADD COLUMN free_releases integer NOT NULL DEFAULT 3
    CONSTRAINT settings_free_releases_range CHECK (free_releases BETWEEN 0 AND 1000);
COMMENT ON COLUMN ledger.settings.free_releases IS
    'How many releases of one event give its attempt back; each release after these counts as an attempt.';

COMMIT;
