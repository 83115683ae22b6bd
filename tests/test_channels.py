"""One name per notification channel: the channels the SQL notifies are the constants of
agentledger_worker.channels, and no Python code names a channel (or LISTENs) with a literal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agentledger_worker import channels
from tests.support.databases import REPO_ROOT

NOTIFY = re.compile(r"pg_notify\s*\(\s*'([^']*)'", re.IGNORECASE)
LITERAL_LISTEN = re.compile(r"\b(?:UN)?LISTEN\s+\"?agentledger_", re.IGNORECASE)
PYTHON_FOLDERS = ("agentledger", "api", "worker", "examples", "tests", "bench")


def notified_channels() -> set[str]:
    found: set[str] = set()
    for path in sorted((REPO_ROOT / "db" / "functions").glob("*.sql")):
        found.update(NOTIFY.findall(path.read_text()))
    return found


def python_files() -> list[Path]:
    files = [REPO_ROOT / "conftest.py"]
    for folder in PYTHON_FOLDERS:
        files += sorted((REPO_ROOT / folder).rglob("*.py"))
    return files


def test_the_sql_notifies_exactly_the_channels_of_the_constants() -> None:
    notified = notified_channels()
    assert notified, "db/functions/*.sql call pg_notify('<channel>', ...)"
    constants = {value for name, value in vars(channels).items() if name.endswith("_CHANNEL")}
    assert notified == constants == channels.CHANNELS


def test_python_names_channels_only_through_the_constants() -> None:
    offences = []
    for path in python_files():
        if path == Path(channels.__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
            if node.value in channels.CHANNELS:
                offences.append(f"{where}: the channel {node.value!r} as a literal")
            elif LITERAL_LISTEN.search(node.value):
                offences.append(f"{where}: LISTEN with a literal channel name")
    assert not offences, "use agentledger_worker.channels:\n" + "\n".join(offences)
