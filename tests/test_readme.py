"""The psql examples of the documentation run as written (README.md and docs/*.md)."""

from __future__ import annotations

import re
import subprocess

from tests.support import databases
from tests.support.docs import code_blocks, section


def test_the_psql_walkthrough_runs_on_a_fresh_database(bare_db: str) -> None:
    [walkthrough] = code_blocks(section("Try it in psql"), "sql")
    # Every statement must succeed except the one the walkthrough shows being refused.
    result = subprocess.run(
        ["psql", "-X", "-d", bare_db],
        input=walkthrough,
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and re.fullmatch(r"ERROR:  event \d+ cannot go from completed to queued", errors[0]), (
        databases.describe(result)
    )
    assert " t  |            4 | " in result.stdout, "the chain of the walkthrough's event verifies"


def test_the_worker_protocol_walkthrough_runs_on_a_fresh_database(bare_db: str) -> None:
    [walkthrough] = code_blocks(section("The worker protocol"), "sql")
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", bare_db],
        input=walkthrough,
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "ERROR" not in result.stderr, databases.describe(result)
    out = result.stdout
    assert re.search(r"\| done +\| approved\s*\n.*\| done +\| rejected", out), "both decisions are applied"
    assert out.count("already_done") == 2, "the repeated report answers already_done for both events"
    assert re.search(r"\| done +\| completed", out) and re.search(r"\| done +\| rejected \| t", out), (
        "one completes; the other goes back to the action queue with a back-off"
    )
    assert re.search(r"\| refused \| AL009", out), "the spent token is refused"
