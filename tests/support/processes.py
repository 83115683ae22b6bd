"""What tests of real processes share: a free port, a copy of the checkout, and the process tree."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from tests.support import databases


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_checkout(target: Path) -> None:
    """The files git would commit now (tracked, plus new ones not ignored), as they are on disk."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=databases.REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = databases.REPO_ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name may hold spaces and parentheses; the parent pid follows the last ')'.
            parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return parents


def children(pid: int) -> set[int]:
    """The processes whose parent is pid."""
    return {child for child, parent in _parents().items() if parent == pid}


def descendants(pid: int) -> set[int]:
    """Every process below pid."""
    parents = _parents()
    found: set[int] = set()
    todo = [pid]
    while todo:
        pid = todo.pop()
        below = {child for child, parent in parents.items() if parent == pid} - found
        found |= below
        todo.extend(below)
    return found
