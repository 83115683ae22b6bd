"""Who is deploying: the committer name and email written to the registry.

Looked up like sqitch (SQITCH_FULLNAME / SQITCH_EMAIL, then user.name /
user.email in sqitch's configuration, then SQITCH_ORIG_*), then git's
configuration, then the system account.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentledger.sqitch.config import SqitchConfig


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


def _git_config(key: str, cwd: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "config", "--get", key],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else None


def _system_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _full_name(user: str) -> str:
    try:
        import pwd

        gecos = pwd.getpwnam(user).pw_gecos.split(",")[0].strip()
    except (ImportError, KeyError):
        return user
    return gecos or user


def current_identity(config: SqitchConfig, project_dir: Path) -> Identity:
    env = os.environ
    name = (
        env.get("SQITCH_FULLNAME")
        or config.get("user.name")
        or env.get("SQITCH_ORIG_FULLNAME")
        or _git_config("user.name", project_dir)
        or _full_name(_system_user())
    )
    email = (
        env.get("SQITCH_EMAIL")
        or config.get("user.email")
        or env.get("SQITCH_ORIG_EMAIL")
        or _git_config("user.email", project_dir)
        or f"{_system_user()}@{socket.gethostname()}"
    )
    return Identity(name, email)
