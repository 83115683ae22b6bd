"""Login roles for tests that connect the way clients do: as members of the NOLOGIN group roles."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.support import databases


@pytest.fixture
def login_as() -> Iterator[Callable[[str, str], str]]:
    """login_as(dsn, group) -> a DSN for a new LOGIN role that is a member of group.

    Roles belong to the whole server, so each gets a unique name and is dropped afterwards.
    """
    created: list[str] = []

    def make(conninfo: str, group: str) -> str:
        name = f"agentledger_test_login_{secrets.token_hex(4)}"
        databases.execute(
            databases.ADMIN_URL,
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(group)),
        )
        created.append(name)
        return make_conninfo(conninfo, user=name)

    yield make
    for name in created:
        databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
