"""db/schema.sql is a snapshot of what the sqitch plan deploys (schemas ledger and api), kept in the
repository so a review shows every schema change as a diff. Refresh it with:

    AGENTLEDGER_UPDATE_SCHEMA_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_schema_snapshot.py
"""

from __future__ import annotations

import difflib
import os
import subprocess

from tests.support import databases

SNAPSHOT = databases.REPO_ROOT / "db" / "schema.sql"


def dump_schema(db_name: str) -> str:
    result = subprocess.run(
        [
            "pg_dump",
            "--schema-only",
            "--schema=ledger",
            "--schema=api",
            "--host",
            databases.HOST,
            "--port",
            databases.PORT,
            "--username",
            databases.USER,
            db_name,
        ],
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)
    # The version lines and the random key of \restrict are about this dump, not the schema.
    return "".join(
        line
        for line in result.stdout.splitlines(keepends=True)
        if not line.startswith(("-- Dumped ", "\\restrict ", "\\unrestrict "))
    )


def test_schema_snapshot_matches_what_sqitch_deploys(deployed_template: str) -> None:
    actual = dump_schema(deployed_template)
    if os.environ.get("AGENTLEDGER_UPDATE_SCHEMA_SNAPSHOT"):
        SNAPSHOT.write_text(actual)
    expected = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            "db/schema.sql (committed)",
            "deployed by sqitch",
        )
    )
    assert not diff, f"the deployed schema differs from db/schema.sql; refresh it (see this file's docstring):\n{diff}"
