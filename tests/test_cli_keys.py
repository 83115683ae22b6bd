"""`agentledger keys`: the real command line against a private deployed database; the keys it
prints are checked by the database's own authentication function."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import psycopg

from tests.support import databases
from tests.support.databases import REPO_ROOT, describe


def keys(args: list[str], dsn: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m agentledger keys ...` with DATABASE_URL set to dsn."""
    env = {**databases.client_env(), "DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "agentledger", "keys", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def authenticated(dsn: str, key: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT name, role FROM api.authenticate_api_key(%s)", [key]).fetchall()


def test_create_list_revoke(fresh_db: str) -> None:
    created = keys(["create", "--name", "underwriter-1", "--role", "worker"], fresh_db)
    assert created.returncode == 0, describe(created)
    key = created.stdout.strip()
    assert created.stdout == key + "\n"  # the key alone on stdout, for $(...)
    assert "will not be shown again" in created.stderr
    assert authenticated(fresh_db, key) == [("underwriter-1", "worker")]

    listed = keys(["list"], fresh_db)
    assert listed.returncode == 0, describe(listed)
    header, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "ROLE", "PREFIX"]
    assert row.split()[:3] == ["underwriter-1", "worker", key[3:15]] and key not in listed.stdout

    revoked = keys(["revoke", "--name", "underwriter-1", "--reason", "leaked in a log"], fresh_db)
    assert revoked.returncode == 0, describe(revoked)
    assert revoked.stdout.startswith("revoked API key underwriter-1 (worker)")
    assert authenticated(fresh_db, key) == []
    assert "leaked in a log" in keys(["list"], fresh_db).stdout


def test_database_refusals_exit_1_with_its_message(fresh_db: str) -> None:
    assert keys(["create", "--name", "intake", "--role", "submitter"], fresh_db).returncode == 0
    again = keys(["--db-url", fresh_db, "create", "--name", "intake", "--role", "worker"], "unused")
    assert (again.returncode, again.stdout) == (1, ""), describe(again)
    assert "an API key named intake exists already" in again.stderr

    unknown = keys(["revoke", "--name", "nobody", "--reason", "retired"], fresh_db)
    assert unknown.returncode == 1 and "no API key is named 'nobody'" in unknown.stderr, describe(unknown)


def test_a_non_administrator_is_told_so(fresh_db: str, login_as: Callable[[str, str], str]) -> None:
    result = keys(["list"], login_as(fresh_db, "agentledger_api"))
    assert result.returncode == 1, describe(result)
    assert "needs an administrator" in result.stderr
