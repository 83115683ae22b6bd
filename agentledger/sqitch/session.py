"""One `agentledger db` run: the project, the database, who is deploying, output."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Protocol

from agentledger import database
from agentledger.sqitch.console import Console
from agentledger.sqitch.identity import Identity, current_identity
from agentledger.sqitch.plan import Plan
from agentledger.sqitch.project import ChangeScripts, Project
from agentledger.sqitch.registry import DeployedChange, Registry
from agentledger.sqitch.scripts import LoadedScript, load_script, run_script


class ChangeLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


class DeploySession:
    def __init__(self, project: Project, conninfo: str, console: Console):
        self.project = project
        self.conninfo = conninfo
        self.console = console
        self._registry: Registry | None = None

    @property
    def plan(self) -> Plan:
        return self.project.plan

    @cached_property
    def destination(self) -> str:
        return database.display(self.conninfo)

    @cached_property
    def identity(self) -> Identity:
        return current_identity(self.project.config, self.project.root)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            conn = database.connect(self.conninfo, self.project.registry)
            self._registry = Registry(conn, self.project.registry)
        return self._registry

    def close(self) -> None:
        if self._registry is not None:
            self._registry.conn.close()
            self._registry = None

    def lock(self) -> None:
        self.registry.lock(
            lambda secs: self.console.info(
                f"Blocked by another instance of sqitch or agentledger working on "
                f"{self.destination}; waiting {secs:g} seconds..."
            )
        )

    # -- scripts -----------------------------------------------------------

    def show(self, path: Path) -> str:
        return self.project.relative(path)

    def scripts_for(self, change: ChangeLike, deployed: list[DeployedChange] | None = None) -> ChangeScripts:
        """Script paths of a planned or deployed change, with rework suffixes."""
        return self.project.scripts(change.name, self.rework_tags(change, deployed or []))

    def rework_tags(self, change: ChangeLike, deployed: list[DeployedChange]) -> list[str]:
        planned = self.plan.index_of_id(change.id)
        if planned is not None:
            return [t.format_name for t in self.plan.changes[planned].rework_tags]
        # Not in the plan any more: a later deployment of the same name means this
        # one was reworked; the tags deployed in between name its files.
        ids = [d.id for d in deployed]
        if change.id not in ids:
            return []
        start = ids.index(change.id)
        later = next((i for i in range(start + 1, len(deployed)) if deployed[i].name == change.name), None)
        if later is None:
            return []
        tags: list[str] = []
        for d in reversed(deployed[start:later]):
            tags.extend(t for t in d.tags if t not in tags)
        return tags

    def load(self, path: Path, command: str) -> LoadedScript:
        return load_script(path, self.project.root, self.project.variables(command), self.show)

    def run(self, script: LoadedScript) -> None:
        run_script(self.conninfo, script, self.show, self.console.vent)

    @staticmethod
    def script_hash(path: Path) -> str | None:
        """SHA-1 of the deploy script's bytes, as sqitch records it (no includes)."""
        try:
            return hashlib.sha1(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
