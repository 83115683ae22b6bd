"""The sqitch project on disk: where it is, its settings, and each change's scripts.

Directory settings follow sqitch: `engine.pg.<key>` overrides `core.<key>`, and
relative paths are relative to the project directory (where sqitch runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agentledger.errors import ProjectError
from agentledger.sqitch.config import SqitchConfig
from agentledger.sqitch.plan import Plan, parse_plan

ENGINE = "pg"
DEFAULT_REGISTRY = "sqitch"


def find_project_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--project-dir, else the checkout this package lives in, else the nearest
    directory (from the working directory up) holding sqitch.conf or sqitch.plan."""
    if explicit is not None:
        path = Path(explicit).resolve()
        if not _is_project(path):
            raise ProjectError(f"{path} holds no sqitch.conf or sqitch.plan")
        return path
    checkout = Path(__file__).resolve().parents[2]
    if _is_project(checkout):
        return checkout
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if _is_project(candidate):
            return candidate
    raise ProjectError("cannot find the sqitch project (sqitch.conf / sqitch.plan); pass --project-dir")


def _is_project(path: Path) -> bool:
    return (path / "sqitch.conf").is_file() or (path / "sqitch.plan").is_file()


@dataclass(frozen=True)
class ChangeScripts:
    deploy: Path
    revert: Path
    verify: Path


class Project:
    def __init__(self, root: Path, config: SqitchConfig | None = None):
        self.root = root
        self.config = config if config is not None else SqitchConfig.load(root)
        engine = self.config.get("core.engine")
        if engine and engine != ENGINE:
            raise ProjectError(f"sqitch.conf sets engine {engine!r}; only {ENGINE!r} is supported")

    def setting(self, key: str) -> str | None:
        return self.config.get(f"engine.{ENGINE}.{key}") or self.config.get(f"core.{key}")

    def _dir(self, value: str | None, default: Path) -> Path:
        return (self.root / value) if value else default

    @cached_property
    def top_dir(self) -> Path:
        return self._dir(self.setting("top_dir"), self.root)

    @cached_property
    def plan_file(self) -> Path:
        return self._dir(self.setting("plan_file"), self.top_dir / "sqitch.plan")

    @cached_property
    def extension(self) -> str:
        return self.setting("extension") or "sql"

    @cached_property
    def registry(self) -> str:
        return self.setting("registry") or DEFAULT_REGISTRY

    @cached_property
    def plan(self) -> Plan:
        return parse_plan(self.plan_file)

    def script_dir(self, kind: str, reworked: bool = False) -> Path:
        if reworked:
            base = self._dir(self.setting("reworked_dir"), self.top_dir)
            return self._dir(self.setting(f"reworked_{kind}_dir"), base / kind)
        return self._dir(self.setting(f"{kind}_dir"), self.top_dir / kind)

    def variables(self, command: str) -> dict[str, str]:
        """psql variables sqitch would --set for `command` (deploy, revert or verify)."""
        merged: dict[str, str] = {}
        for section in ("core.variables", f"{command}.variables", f"engine.{ENGINE}.variables"):
            merged.update(self.config.section(section))
        merged["registry"] = self.registry
        return merged

    def scripts(self, name: str, rework_tags: list[str]) -> ChangeScripts:
        """Script files of a change. A reworked change's files carry the suffix of
        the first of its rework tags (latest first) whose deploy file exists."""
        reworked = bool(rework_tags)
        parts = name.split("/")
        ext = "." + self.extension
        if reworked:
            deploy_dir = self.script_dir("deploy", reworked=True)
            base = parts.pop()
            candidates = [f"{base}{tag}{ext}" for tag in rework_tags]
            existing = [c for c in candidates if deploy_dir.joinpath(*parts, c).exists()]
            parts.append(existing[0] if existing else candidates[0])
        else:
            parts[-1] += ext
        return ChangeScripts(
            *(self.script_dir(kind, reworked).joinpath(*parts) for kind in ("deploy", "revert", "verify"))
        )

    def relative(self, path: Path) -> str:
        """A path as shown in messages: relative to the project when inside it."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)
