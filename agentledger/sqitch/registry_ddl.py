"""The tables of sqitch's registry for PostgreSQL (registry release 1.1).

sqitch reads and writes these tables, so their names, columns, types and constraints are an
interface that must match what sqitch creates; the comments are our own. With the same tables,
sqitch and `agentledger db` can take turns on one database.
"""

from __future__ import annotations

from string import Template

RELEASE = "1.1"

_DDL = Template("""
BEGIN;
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS ${s};
COMMENT ON SCHEMA ${s} IS 'Deployment registry shared by sqitch and agentledger db (release 1.1).';

CREATE TABLE ${s}.releases (
    version real PRIMARY KEY,
    installed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    installer_name text NOT NULL,
    installer_email text NOT NULL
);
COMMENT ON TABLE ${s}.releases IS 'Registry releases installed here, and by whom.';

CREATE TABLE ${s}.projects (
    project text PRIMARY KEY,
    uri text NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    creator_name text NOT NULL,
    creator_email text NOT NULL
);
COMMENT ON TABLE ${s}.projects IS 'Plans (projects) with changes in this database.';

CREATE TABLE ${s}.changes (
    change_id text PRIMARY KEY,
    script_hash text NULL,
    change text NOT NULL,
    project text NOT NULL REFERENCES ${s}.projects (project) ON UPDATE CASCADE,
    note text NOT NULL DEFAULT '',
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    committer_name text NOT NULL,
    committer_email text NOT NULL,
    planned_at timestamptz NOT NULL,
    planner_name text NOT NULL,
    planner_email text NOT NULL,
    UNIQUE (project, script_hash)
);
COMMENT ON TABLE ${s}.changes IS 'Changes deployed now: one row each, removed again on revert.';

CREATE TABLE ${s}.tags (
    tag_id text PRIMARY KEY,
    tag text NOT NULL,
    project text NOT NULL REFERENCES ${s}.projects (project) ON UPDATE CASCADE,
    change_id text NOT NULL REFERENCES ${s}.changes (change_id) ON UPDATE CASCADE,
    note text NOT NULL DEFAULT '',
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    committer_name text NOT NULL,
    committer_email text NOT NULL,
    planned_at timestamptz NOT NULL,
    planner_name text NOT NULL,
    planner_email text NOT NULL,
    UNIQUE (project, tag)
);
COMMENT ON TABLE ${s}.tags IS 'Plan tags reached by the deployed changes.';

CREATE TABLE ${s}.dependencies (
    change_id text NOT NULL REFERENCES ${s}.changes (change_id) ON UPDATE CASCADE ON DELETE CASCADE,
    type text NOT NULL,
    dependency text NOT NULL,
    dependency_id text NULL REFERENCES ${s}.changes (change_id) ON UPDATE CASCADE
        CONSTRAINT dependencies_check CHECK (
            (type = 'require' AND dependency_id IS NOT NULL)
            OR (type = 'conflict' AND dependency_id IS NULL)),
    PRIMARY KEY (change_id, dependency)
);
COMMENT ON TABLE ${s}.dependencies IS 'What each deployed change requires or conflicts with.';

CREATE TABLE ${s}.events (
    event text NOT NULL
        CONSTRAINT events_event_check CHECK (event IN ('deploy', 'revert', 'fail', 'merge')),
    change_id text NOT NULL,
    change text NOT NULL,
    project text NOT NULL REFERENCES ${s}.projects (project) ON UPDATE CASCADE,
    note text NOT NULL DEFAULT '',
    requires text[] NOT NULL DEFAULT '{}',
    conflicts text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    committer_name text NOT NULL,
    committer_email text NOT NULL,
    planned_at timestamptz NOT NULL,
    planner_name text NOT NULL,
    planner_email text NOT NULL,
    PRIMARY KEY (change_id, committed_at)
);
COMMENT ON TABLE ${s}.events IS 'Every deploy, revert and failure, kept for good.';
COMMIT;
""")


def registry_ddl(quoted_schema: str) -> str:
    """The DDL for a registry schema; `quoted_schema` is an already quoted identifier."""
    return _DDL.substitute(s=quoted_schema)
