"""Only agentledger's roles may connect to its database: PostgreSQL has no privilege on NOTIFY and
LISTEN, so a login that could connect could forge wake-ups and escalations or listen to them. Nobody
but the owner creates objects in schema public, and PUBLIC creates no temporary objects.

A database's own privileges are not copied by CREATE DATABASE ... TEMPLATE, so these tests deploy
with sqitch into an empty database rather than using a copy of the test template."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from agentledger_worker.channels import WORK_CHANNEL
from tests.support import databases


@pytest.fixture(scope="module")
def deployed() -> Iterator[str]:
    with databases.scratch_database() as conninfo:
        result = databases.run_sqitch(["deploy"], databases.dbname(conninfo))
        assert result.returncode == 0, databases.describe(result)
        yield conninfo


@pytest.fixture
def outsider(deployed: str) -> Iterator[str]:
    """A DSN for a new LOGIN role that belongs to none of agentledger's roles."""
    name = f"agentledger_test_outsider_{secrets.token_hex(4)}"
    databases.execute(databases.ADMIN_URL, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield make_conninfo(deployed, user=name)
    databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_a_login_outside_agentledgers_roles_cannot_connect(outsider: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(outsider).close()


@pytest.mark.parametrize("group", ["agentledger_api", "agentledger_worker", "agentledger_auditor"])
def test_members_of_agentledgers_roles_connect_but_create_nothing(deployed: str, login_as, group: str) -> None:
    with psycopg.connect(login_as(deployed, group), autocommit=True) as conn:
        conn.execute(f"LISTEN {WORK_CHANNEL}")  # what a worker does
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMPORARY TABLE scratch (x int)")
