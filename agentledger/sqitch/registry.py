"""Reading and writing sqitch's registry (schema `sqitch` by default).

Every row is written the way sqitch 1.3's PostgreSQL engine writes it, with
the same values, so `sqitch status`, `sqitch deploy`, `sqitch revert` and
`sqitch log` read our history as their own. The connection's search_path
puts the registry schema first (see database.connect), as sqitch's does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from agentledger.errors import RegistryError
from agentledger.sqitch.identity import Identity
from agentledger.sqitch.plan import Change, Plan
from agentledger.sqitch.registry_ddl import RELEASE, registry_ddl

# sqitch serialises its runs on this advisory lock; sharing it keeps
# agentledger and sqitch from working on one database at the same time.
ADVISORY_LOCK_KEY = 75474063
LOCK_TIMEOUT_SECONDS = 60

_TAGS = "array_remove(array_agg(t.tag ORDER BY t.tag), NULL)"


class Revertible(Protocol):
    """A change as a revert needs it: deployed (DeployedChange) or planned (Change)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def planned_at(self) -> datetime: ...
    @property
    def planner_name(self) -> str: ...
    @property
    def planner_email(self) -> str: ...

    @property
    def format_name_with_tags(self) -> str: ...


@dataclass
class DeployedChange:
    """A row of `changes`, with its tags: what the registry says is deployed."""

    id: str
    name: str
    project: str
    note: str
    planned_at: datetime
    planner_name: str
    planner_email: str
    tags: list[str]
    script_hash: str | None
    committed_at: datetime
    committer_name: str
    committer_email: str

    @property
    def format_name_with_tags(self) -> str:
        return " ".join([self.name, *self.tags])


@dataclass
class Registry:
    conn: psycopg.Connection
    schema: str

    # -- state -------------------------------------------------------------

    def initialized(self) -> bool:
        row = self.conn.execute(
            "SELECT EXISTS(SELECT TRUE FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s)",
            [self.schema, "changes"],
        ).fetchone()
        return bool(row and row[0])

    def version(self) -> float:
        exists = self.conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL",
            [f"{sql.Identifier(self.schema).as_string(self.conn)}.releases"],
        ).fetchone()
        if not exists or not exists[0]:
            return 0.0
        row = self.conn.execute("SELECT MAX(version)::TEXT FROM releases").fetchone()
        return float(row[0]) if row and row[0] is not None else 0.0

    def check_version(self, destination: str) -> None:
        """Refuse to touch a registry of another release, as sqitch does; upgrading
        an old registry is left to `sqitch upgrade`."""
        version = self.version()
        if version == float(RELEASE):
            return
        if version == 0 and not self.initialized():
            raise RegistryError(f"No registry found in {destination}. Have you ever deployed?")
        if version > float(RELEASE):
            raise RegistryError(f"Registry version is {version} but {RELEASE} is the latest known to agentledger")
        raise RegistryError(
            f"Registry is at version {version} but latest is {RELEASE}. Run `sqitch upgrade` on this database first"
        )

    # -- locking -----------------------------------------------------------

    def lock(self, on_wait: Callable[[float], None], timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        """Hold sqitch's advisory lock for the session; wait up to `timeout` seconds."""
        if self._try_lock():
            return
        on_wait(timeout)
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            if self._try_lock():
                return
            delay = min(delay * 2, 1.0)
        raise RegistryError(
            f"Timed out waiting {timeout:g} seconds for another instance of sqitch or "
            "agentledger to finish work on this database"
        )

    def _try_lock(self) -> bool:
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY]).fetchone()
        return bool(row and row[0])

    @contextmanager
    def change_transaction(self) -> Iterator[None]:
        """The registry transaction around one change, locking `changes` like sqitch."""
        with self.conn.transaction():
            self.conn.execute("LOCK TABLE changes IN EXCLUSIVE MODE")
            yield

    # -- setup -------------------------------------------------------------

    def initialize(self, who: Identity) -> None:
        if self.initialized():
            raise RegistryError(f'Sqitch schema "{self.schema}" already exists')
        quoted = sql.Identifier(self.schema).as_string(self.conn)
        self.conn.execute(registry_ddl(quoted))
        self.conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(self.schema)))
        with self.change_transaction():
            self.conn.execute(
                "INSERT INTO releases (version, installed_at, installer_name, installer_email)"
                " VALUES (%s::real, clock_timestamp(), %s, %s)",
                [RELEASE, who.name, who.email],
            )

    def register_project(self, plan: Plan, who: Identity) -> None:
        uri = plan.uri
        row = self.conn.execute("SELECT uri FROM projects WHERE project = %s", [plan.project]).fetchone()
        if row is not None:
            registered = row[0]
            if registered != uri:
                raise RegistryError(
                    f'Cannot register "{plan.project}" with URI {uri or "NULL"}: '
                    f"already exists with URI {registered or 'NULL'}"
                )
            return
        if uri is not None:
            other = self.conn.execute("SELECT project FROM projects WHERE uri = %s", [uri]).fetchone()
            if other is not None:
                raise RegistryError(
                    f'Cannot register "{plan.project}" with URI {uri}: project "{other[0]}" already using that URI'
                )
        self.conn.execute(
            "INSERT INTO projects (project, uri, creator_name, creator_email, created_at)"
            " VALUES (%s, %s, %s, %s, clock_timestamp())",
            [plan.project, uri, who.name, who.email],
        )

    # -- reading -----------------------------------------------------------

    def _changes(self, where: str, params: list, newest_only: bool = False) -> list[DeployedChange]:
        query = f"""
            SELECT c.change_id AS id, c.change AS name, c.project, c.note,
                   c.planned_at, c.planner_name, c.planner_email,
                   {_TAGS} AS tags, c.script_hash,
                   c.committed_at, c.committer_name, c.committer_email
              FROM changes c
              LEFT JOIN tags t ON c.change_id = t.change_id
             WHERE {where}
             GROUP BY c.change_id, c.change, c.project, c.note, c.planned_at,
                      c.planner_name, c.planner_email, c.committed_at, c.script_hash,
                      c.committer_name, c.committer_email
             ORDER BY c.committed_at {"DESC LIMIT 1" if newest_only else "ASC"}
        """
        with self.conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, params).fetchall()
        return [DeployedChange(**row) for row in rows]

    def deployed_changes(self, project: str) -> list[DeployedChange]:
        """Deployed changes of `project` in the order they were deployed."""
        return self._changes("c.project = %s", [project])

    def deployed_changes_since(self, project: str, change_id: str) -> list[DeployedChange]:
        return self._changes(
            "c.project = %s AND c.committed_at > (SELECT committed_at FROM changes WHERE change_id = %s)",
            [project, change_id],
        )

    def current_state(self, project: str) -> DeployedChange | None:
        """The latest deployed change of `project`, or None (also without a registry)."""
        if not self.initialized():
            return None
        latest = self._changes("c.project = %s", [project], newest_only=True)
        return latest[0] if latest else None

    def load_change(self, change_id: str) -> DeployedChange | None:
        found = self._changes("c.change_id = %s", [change_id])
        return found[0] if found else None

    def deployed_ids(self, ids: list[str]) -> list[str]:
        rows = self.conn.execute("SELECT change_id FROM changes WHERE change_id = ANY(%s)", [ids]).fetchall()
        return [r[0] for r in rows]

    def _first_id(self, query: str | sql.Composed, params: list[Any]) -> str | None:
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row else None

    def change_id_for(
        self,
        project: str,
        change_id: str | None = None,
        change: str | None = None,
        tag: str | None = None,
        first: bool = False,
    ) -> str | None:
        """Find a deployed change as sqitch does: by id, by name (optionally as of
        a tag, or HEAD), or by tag (HEAD and ROOT being the latest and earliest)."""
        if change_id:
            return self._first_id("SELECT change_id FROM changes WHERE change_id = %s", [change_id])
        if change:
            if tag:
                if tag == "ROOT":
                    return None
                if tag == "HEAD":
                    return self._first_id(
                        "SELECT change_id FROM changes WHERE project = %s AND changes.change = %s"
                        " ORDER BY committed_at DESC LIMIT 1",
                        [project, change],
                    )
                return self._first_id(
                    """SELECT changes.change_id FROM changes
                         JOIN tags ON changes.committed_at <= tags.committed_at
                                  AND changes.project = tags.project
                        WHERE changes.project = %s AND changes.change = %s AND tags.tag = %s
                        ORDER BY changes.committed_at DESC LIMIT 1""",
                    [project, change, "@" + tag],
                )
            rows = self.conn.execute(
                "SELECT change_id FROM changes WHERE project = %s AND changes.change = %s"
                " ORDER BY changes.committed_at ASC",
                [project, change],
            ).fetchall()
            if len(rows) > 1 and not first:
                raise RegistryError(f'Change "{change}" is ambiguous. Please specify a tag-qualified change')
            return rows[0][0] if rows else None
        if tag:
            if tag in ("HEAD", "ROOT"):
                return self._first_id(
                    "SELECT change_id FROM changes WHERE project = %s ORDER BY committed_at "
                    + ("DESC" if tag == "HEAD" else "ASC")
                    + " LIMIT 1",
                    [project],
                )
            return self._first_id("SELECT change_id FROM tags WHERE project = %s AND tag = %s", [project, "@" + tag])
        return None

    def offset_from(self, project: str, change_id: str, offset: int) -> str | None:
        """The change `offset` deployments after (or, negative, before) `change_id`."""
        if not offset:
            return change_id
        direction, op = ("ASC", ">") if offset > 0 else ("DESC", "<")
        query = sql.SQL(
            "SELECT change_id FROM changes WHERE project = %s AND committed_at {op}"
            " (SELECT committed_at FROM changes WHERE change_id = %s)"
            " ORDER BY committed_at {direction} LIMIT 1 OFFSET {skip}"
        ).format(op=sql.SQL(op), direction=sql.SQL(direction), skip=sql.Literal(abs(offset) - 1))
        return self._first_id(query, [project, change_id])

    def changes_requiring(self, change_id: str) -> list[dict]:
        """Deployed changes whose dependencies resolve to `change_id`."""
        with self.conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                """SELECT c.change_id, c.project, c.change, (
                          SELECT tag FROM changes c2 JOIN tags ON c2.change_id = tags.change_id
                           WHERE c2.project = c.project AND c2.committed_at >= c.committed_at
                           ORDER BY c2.committed_at LIMIT 1
                       ) AS asof_tag
                     FROM dependencies d JOIN changes c ON c.change_id = d.change_id
                    WHERE d.dependency_id = %s""",
                [change_id],
            ).fetchall()

    # -- writing -----------------------------------------------------------

    def log_deploy(
        self, change: Change, script_hash: str | None, resolved: dict[int, str | None], who: Identity
    ) -> None:
        """Record a deployed change: its row, dependencies, tags and a deploy event.
        `resolved` maps id(dependency) to the change id it resolved to."""
        self.conn.execute(
            """INSERT INTO changes (change_id, script_hash, change, project, note,
                                    committer_name, committer_email, planned_at,
                                    planner_name, planner_email, committed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())""",
            [
                change.id,
                script_hash,
                change.name,
                change.project,
                change.note,
                who.name,
                who.email,
                change.planned_at,
                change.planner_name,
                change.planner_email,
            ],
        )
        with self.conn.cursor() as cur:
            if change.dependencies:
                cur.executemany(
                    "INSERT INTO dependencies (change_id, type, dependency, dependency_id) VALUES (%s, %s, %s, %s)",
                    [[change.id, d.type, d.as_string(), resolved.get(id(d))] for d in change.dependencies],
                )
            if change.tags:
                cur.executemany(
                    """INSERT INTO tags (tag_id, tag, project, change_id, note,
                                         committer_name, committer_email, planned_at,
                                         planner_name, planner_email, committed_at)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())""",
                    [
                        [
                            t.id,
                            t.format_name,
                            change.project,
                            change.id,
                            t.note,
                            who.name,
                            who.email,
                            t.planned_at,
                            t.planner_name,
                            t.planner_email,
                        ]
                        for t in change.tags
                    ],
                )
        self._log_event(
            "deploy",
            change.id,
            change.name,
            change.project,
            change.note,
            [t.format_name for t in change.tags],
            [d.as_string() for d in change.requires],
            [d.as_string() for d in change.conflicts],
            change.planned_at,
            change.planner_name,
            change.planner_email,
            who,
        )

    def log_fail(self, change: Change, who: Identity) -> None:
        self._log_event(
            "fail",
            change.id,
            change.name,
            change.project,
            change.note,
            [t.format_name for t in change.tags],
            [d.as_string() for d in change.requires],
            [d.as_string() for d in change.conflicts],
            change.planned_at,
            change.planner_name,
            change.planner_email,
            who,
        )

    def log_new_tags(self, change: Change, who: Identity) -> None:
        """Record tags planned on an already deployed change since it was deployed."""
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO tags (tag_id, tag, project, change_id, note, committer_name,
                                     committer_email, planned_at, planner_name, planner_email)
                   SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
                    WHERE NOT EXISTS (SELECT 1 FROM tags WHERE tag_id = %s)""",
                [
                    [
                        t.id,
                        t.format_name,
                        change.project,
                        change.id,
                        t.note,
                        who.name,
                        who.email,
                        t.planned_at,
                        t.planner_name,
                        t.planner_email,
                        t.id,
                    ]
                    for t in change.tags
                ],
            )

    def log_revert(self, change: Revertible, who: Identity) -> None:
        """Remove a change from the registry and record a revert event carrying the
        tags and dependencies it had."""
        tags = [
            r[0]
            for r in self.conn.execute("DELETE FROM tags WHERE change_id = %s RETURNING tag", [change.id]).fetchall()
        ]
        row = self.conn.execute(
            """SELECT ARRAY(SELECT dependency FROM dependencies
                             WHERE change_id = %(id)s AND type = 'require'),
                      ARRAY(SELECT dependency FROM dependencies
                             WHERE change_id = %(id)s AND type = 'conflict')""",
            {"id": change.id},
        ).fetchone()
        requires, conflicts = (row[0], row[1]) if row else ([], [])
        self.conn.execute("DELETE FROM changes WHERE change_id = %s", [change.id])
        self._log_event(
            "revert",
            change.id,
            change.name,
            change.project,
            change.note,
            tags,
            requires,
            conflicts,
            change.planned_at,
            change.planner_name,
            change.planner_email,
            who,
        )

    def _log_event(
        self,
        event: str,
        change_id: str,
        name: str,
        project: str,
        note: str,
        tags: list[str],
        requires: list[str],
        conflicts: list[str],
        planned_at: datetime,
        planner_name: str,
        planner_email: str,
        who: Identity,
    ) -> None:
        self.conn.execute(
            """INSERT INTO events (event, change_id, change, project, note, tags, requires,
                                   conflicts, committer_name, committer_email, planned_at,
                                   planner_name, planner_email, committed_at)
               VALUES (%s, %s, %s, %s, %s, %s::text[], %s::text[], %s::text[], %s, %s, %s,
                       %s, %s, clock_timestamp())""",
            [
                event,
                change_id,
                name,
                project,
                note,
                tags,
                requires,
                conflicts,
                who.name,
                who.email,
                planned_at,
                planner_name,
                planner_email,
            ],
        )
