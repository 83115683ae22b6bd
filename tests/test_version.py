"""One version: pyproject.toml's, read from the installed metadata by the package, the command line
and the HTTP API, and equal to the newest tag of the database plan."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

import agentledger
from agentledger_api import create_app
from agentledger_api.settings import ApiSettings
from tests.support.databases import REPO_ROOT

TAG = re.compile(r"@v(\d+\.\d+\.\d+)\b")


def latest_plan_tag() -> str:
    """The version of the last tag line (a line starting with @) of sqitch.plan."""
    tags = [line for line in (REPO_ROOT / "sqitch.plan").read_text().splitlines() if line.startswith("@")]
    assert tags, "sqitch.plan has tags"
    match = TAG.match(tags[-1])
    assert match, f"the last tag is @vX.Y.Z: {tags[-1]}"
    return match.group(1)


def test_the_installed_version_is_the_newest_plan_tag() -> None:
    assert importlib.metadata.version("agentledger") == latest_plan_tag()


def test_package_cli_and_api_report_the_installed_version() -> None:
    installed = importlib.metadata.version("agentledger")
    assert agentledger.__version__ == installed
    result = subprocess.run(
        [sys.executable, "-m", "agentledger", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == f"agentledger {installed}"
    app = create_app(ApiSettings(database_url="postgresql://nowhere/none"))
    assert app.openapi()["info"]["version"] == installed


def test_the_version_is_written_only_in_pyproject() -> None:
    installed = importlib.metadata.version("agentledger")
    written = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("agentledger", "api", "worker", "examples")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if f'"{installed}"' in path.read_text()
    ]
    assert written == []
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(installed)}"', pyproject, flags=re.MULTILINE)
