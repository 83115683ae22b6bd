"""Reading sqitch's configuration files (git-config syntax).

Keys are looked up as sqitch does: `section.key` or `section.subsection.key`,
with section and key names case-insensitive and subsection names exact.
Later files override earlier ones: system, then user, then the project's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from agentledger.errors import ProjectError

_SECTION = re.compile(r'^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(?:[#;].*)?$')
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\s*(?:=\s*(.*))?$")


def _value(raw: str, path: Path, lineno: int) -> str:
    """Unquote a value and drop a trailing comment, as git does."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and i + 1 < len(raw):
            i += 1
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(raw[i], raw[i]))
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise ProjectError(f"{path}:{lineno}: unterminated quote in configuration value")
    return "".join(out).strip()


def parse_config(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    section: str | None = None
    text = path.read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            match = _SECTION.match(stripped)
            if not match:
                raise ProjectError(f"{path}:{lineno}: bad section header: {stripped}")
            name, sub = match.group(1).lower(), match.group(2)
            section = f"{name}.{sub}" if sub is not None else name
            continue
        match = _KEY.match(stripped)
        if not match or section is None:
            raise ProjectError(f"{path}:{lineno}: bad configuration line: {stripped}")
        key, raw = match.group(1).lower(), match.group(2)
        values[f"{section}.{key}"] = "true" if raw is None else _value(raw, path, lineno)
    return values


class SqitchConfig:
    """Merged sqitch configuration: system, user and project files."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    @classmethod
    def load(cls, project_dir: Path) -> SqitchConfig:
        merged: dict[str, str] = {}
        for path in _config_files(project_dir):
            if path.is_file():
                merged.update(parse_config(path))
        return cls(merged)

    def get(self, key: str) -> str | None:
        return self.values.get(_normalise(key))

    def section(self, name: str) -> dict[str, str]:
        """Keys directly under `name` (e.g. `deploy.variables`), without the prefix."""
        prefix = _normalise(name + ".x")[:-1]
        return {
            key[len(prefix) :]: value
            for key, value in self.values.items()
            if key.startswith(prefix) and "." not in key[len(prefix) :]
        }


def _normalise(key: str) -> str:
    """Lower-case the section and the key; keep a subsection as written."""
    parts = key.split(".")
    if len(parts) < 2:
        return key.lower()
    parts[0] = parts[0].lower()
    parts[-1] = parts[-1].lower()
    return ".".join(parts)


def _config_files(project_dir: Path) -> list[Path]:
    system = os.environ.get("SQITCH_SYSTEM_CONFIG") or "/etc/sqitch/sqitch.conf"
    user = os.environ.get("SQITCH_USER_CONFIG") or str(Path.home() / ".sqitch" / "sqitch.conf")
    local = os.environ.get("SQITCH_CONFIG") or str(project_dir / "sqitch.conf")
    local_path = Path(local)
    if not local_path.is_absolute():
        local_path = project_dir / local_path
    return [Path(system), Path(user), local_path]
