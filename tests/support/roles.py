"""Login roles for tests that connect the way clients do: as members of the NOLOGIN group roles,
each acting for a principal of its own (the database names it as the actor of what the login does)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Protocol

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.support import databases


class LoginAs(Protocol):
    def __call__(self, conninfo: str, group: str, kind: str | None = "agent", principal: str | None = None) -> str: ...


@pytest.fixture
def login_as() -> Iterator[LoginAs]:
    """login_as(dsn, group, kind="agent") -> a DSN for a new LOGIN role that is a member of group and
    acts for a new principal of that kind (human, agent or service) named after it (or `principal`),
    in dsn's database; kind=None: for no principal (the database then refuses every change the login
    asks for).

    Roles belong to the whole server, so each gets a unique name and is dropped afterwards.
    """
    created: list[str] = []

    def make(conninfo: str, group: str, kind: str | None = "agent", principal: str | None = None) -> str:
        name = f"agentledger_test_login_{secrets.token_hex(4)}"
        databases.execute(
            databases.ADMIN_URL,
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(group)),
        )
        created.append(name)
        if kind is not None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("SELECT api.create_principal(%s, %s, %s)", [principal or name, kind, name])
        return make_conninfo(conninfo, user=name)

    yield make
    for name in created:
        databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
