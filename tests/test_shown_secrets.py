"""Secrets that commands print or log: a connection string is shown without its password, whatever
the password holds; `agentledger run` sets its roles' passwords as SCRAM verifiers computed here, so
the password never reaches the server; it names the key files and never prints a key."""

from __future__ import annotations

import base64
import secrets
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from agentledger import database
from agentledger.cli import run
from tests.support import databases

SECRET = "Zq7-secret"


@pytest.mark.parametrize(
    "conninfo",
    [
        f"postgresql://alice:{SECRET}@db.example:5432/ledger",
        f"postgresql://alice:{SECRET}/{SECRET}@db.example:5432/ledger",  # a '/' in the password
        f"postgresql://alice:{SECRET}@{SECRET}@db.example/ledger",  # a bare '@' in the password
        f"postgresql://alice:{SECRET}%40{SECRET}@db.example/ledger",  # an encoded one
        f"postgresql://alice:{SECRET}:{SECRET}@db.example/ledger",
        f"postgresql://alice@db.example/ledger?password={SECRET}&sslmode=require",
        f"postgresql://alice@db.example/ledger?sslmode=require&password={SECRET}%26x",
        f"postgresql://alice@db.example/ledger?password={SECRET}",
        f"host=db.example user=alice password={SECRET} dbname=ledger",
        f"host=db.example user=alice password='{SECRET} with spaces' dbname=ledger",
        f"host=db.example user=alice password='{SECRET}\\' quoted' dbname=ledger",
    ],
)
def test_a_connection_string_is_shown_without_any_part_of_its_password(conninfo: str) -> None:
    shown = database.display(conninfo)
    assert "secret" not in shown, shown
    assert "password" not in shown, shown
    assert "db.example" in shown and "alice" in shown, shown


def test_what_is_shown_is_a_connection_string_libpq_reads() -> None:
    shown = database.display(f"postgresql://alice:{SECRET}@db.example:5433/ledger?sslmode=require")
    assert conninfo_to_dict(shown) == {
        "user": "alice",
        "host": "db.example",
        "port": "5433",
        "dbname": "ledger",
        "sslmode": "require",
    }


def test_the_scram_verifier_is_the_one_postgresql_computes(fresh_db: str) -> None:
    """PostgreSQL hashes a password itself; with its salt, our verifier comes out the same."""
    role = f"agentledger_test_scram_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    try:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
            )
            [(stored,)] = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchall()
        iterations, salt = stored.split("$")[1].split(":")
        assert database.scram_sha256_verifier(password, base64.b64decode(salt), int(iterations)) == stored
    finally:
        databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_verifier_has_a_fresh_salt_and_4096_iterations() -> None:
    first, second = database.scram_sha256_verifier("pw"), database.scram_sha256_verifier("pw")
    assert first != second and first.startswith("SCRAM-SHA-256$4096:") and second.startswith("SCRAM-SHA-256$4096:")
    with pytest.raises(ValueError):
        database.scram_sha256_verifier("pässword")


class RecordingCursor(psycopg.Cursor):
    """Keeps the text of every statement sent, as the server would receive (and log) it."""

    sent: ClassVar[list[str]] = []

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        text = query.as_string(self.connection) if isinstance(query, sql.Composable) else str(query)
        RecordingCursor.sent.append(text + " " + repr(params))
        return super().execute(query, params, **kwargs)


def test_run_sets_passwords_as_verifiers_so_the_server_never_sees_them(fresh_db: str) -> None:
    role = f"agentledger_test_dev_{secrets.token_hex(4)}"
    RecordingCursor.sent = []
    try:
        with psycopg.connect(fresh_db, autocommit=True, cursor_factory=RecordingCursor) as conn:
            login = run._login_role(conn, fresh_db, role, "agentledger_api", "the API", "agentledger api", True)
            [(stored,)] = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchall()
        password = conninfo_to_dict(login)["password"]
        assert password and stored.startswith("SCRAM-SHA-256$4096:")
        assert any("SCRAM-SHA-256$4096:" in statement for statement in RecordingCursor.sent)
        assert not [statement for statement in RecordingCursor.sent if password in statement]
        iterations, salt = stored.split("$")[1].split(":")
        assert database.scram_sha256_verifier(password, base64.b64decode(salt), int(iterations)) == stored
    finally:
        databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
