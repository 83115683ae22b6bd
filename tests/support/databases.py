"""Throwaway PostgreSQL databases and the command-line tools that use them.

Every database made here gets a unique name and is dropped WITH (FORCE), so an
interrupted run never blocks the next one. Connections are opened for one
statement and closed at once: CREATE DATABASE ... TEMPLATE refuses to copy a
database that anyone is still connected to.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("AGENTLEDGER_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

_admin = conninfo_to_dict(ADMIN_URL)
HOST = str(_admin.get("host") or "127.0.0.1")
PORT = str(_admin.get("port") or 5432)
USER = str(_admin.get("user") or "postgres")
PASSWORD = _admin.get("password")


class DatabaseSetupError(Exception):
    """A test database could not be created or deployed."""


def new_name() -> str:
    return f"agentledger_test_{os.getpid()}_{secrets.token_hex(4)}"


def dsn(db_name: str) -> str:
    """Connection string for db_name, as the admin user."""
    return make_conninfo(ADMIN_URL, dbname=db_name)


def dbname(conninfo: str) -> str:
    """The database name inside a DSN yielded by fresh_db or empty_db."""
    return str(conninfo_to_dict(conninfo)["dbname"])


def execute(conninfo: str, statement: sql.Composable | str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


def create_database(name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    execute(ADMIN_URL, statement)


@contextmanager
def scratch_database(template: str | None = None) -> Iterator[str]:
    """A new database (a copy of template, if given) for one test: its DSN, dropped afterwards."""
    name = new_name()
    create_database(name, template=template)
    try:
        yield dsn(name)
    finally:
        drop_database(name)


def acting_admin(conninfo: str) -> str:
    """conninfo, once the administrator the tests connect as acts for a human principal of its own
    name (USER) in its database, as a DBA working in psql would: the api functions then record that
    principal. Made on first use (the HTTP API fixtures make the same); the same conninfo is
    returned, for chaining."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            """SELECT api.create_principal(session_user, 'human', session_user)
                WHERE NOT EXISTS (SELECT FROM ledger.principal_logins WHERE login = session_user)"""
        )
    return conninfo


def drop_database(name: str) -> None:
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    execute(ADMIN_URL, statement.format(sql.Identifier(name)))


def client_env() -> dict[str, str]:
    """Environment for psql-based tools; they take the password from PGPASSWORD."""
    env = dict(os.environ)
    if PASSWORD:
        env["PGPASSWORD"] = str(PASSWORD)
    return env


def sqitch_target(db_name: str) -> str:
    return f"db:pg://{USER}@{HOST}:{PORT}/{db_name}"


def run_sqitch(args: list[str], db_name: str) -> subprocess.CompletedProcess[str]:
    """Run `sqitch <command> --target <db_name> <rest...>` from the repo root.

    Never raises on a non-zero exit: callers assert on returncode and show
    describe(result) so failures carry sqitch's own output.
    """
    command, *rest = args
    return subprocess.run(
        ["sqitch", command, "--target", sqitch_target(db_name), *rest],
        cwd=REPO_ROOT,
        env=client_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def pg_prove_command(db_name: str, test_file: Path) -> list[str]:
    return [
        "pg_prove",
        "--host",
        HOST,
        "--port",
        PORT,
        "--username",
        USER,
        "--dbname",
        db_name,
        "--verbose",
        str(test_file),
    ]


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Command, exit code and output of a finished process, for failure messages."""
    return (
        f"$ {' '.join(result.args)}\n"
        f"exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}"
        f"--- stderr ---\n{result.stderr}"
    )


class DeployedTemplate:
    """One database per test run with pgTAP installed and the project deployed.

    Built on first use and shared: pgTAP files roll back their own work, and
    Python tests that must commit work on clones of it (fresh_db). A failed
    build is remembered so every dependent test reports it without retrying.
    """

    def __init__(self) -> None:
        self.name: str | None = None
        self.error: str | None = None

    def get(self) -> str:
        if self.name is None and self.error is None:
            try:
                self.name = self._build()
            except (DatabaseSetupError, psycopg.Error, OSError) as exc:
                self.error = f"could not build the test template database:\n{exc}"
        if self.error is not None:
            raise DatabaseSetupError(self.error)
        return self.name

    def drop(self) -> None:
        if self.name is not None:
            drop_database(self.name)
            self.name = None

    @staticmethod
    def _build() -> str:
        name = new_name()
        create_database(name)
        try:
            # pgTAP is a test dependency, so it lives only in test databases.
            execute(dsn(name), "CREATE EXTENSION pgtap")
            result = run_sqitch(["deploy"], name)
            if result.returncode != 0:
                raise DatabaseSetupError("sqitch deploy failed\n" + describe(result))
        except BaseException:
            drop_database(name)
            raise
        return name
