"""Fixtures for tests of the HTTP API: the real app, started, on a private deployed database.

make_api(**settings)         ApiHarness of a new app with those ApiSettings changed, on fresh_db
api                          make_api() with the default settings (but a small pool)
module_make_api(**settings)  the same on one database shared by the test module, for tests that
                             refuse requests or touch only their own events (a database per test
                             costs a CREATE and a DROP DATABASE; the module's tests run serially)
module_api                   module_make_api() with the default settings

Every app connects as a new LOGIN role in the group role agentledger_api, never as the superuser,
so every database privilege is the one production has. Principals and keys are made as superuser
with api.create_principal and api.create_api_key, as an administrator would: by default each key
gets a principal of its own, of the kind its role suggests (ROLE_KIND); `principal=` gives a second
key to an existing principal. The superuser login acts for a principal of its own name (for the
setup statements tests run with `sql`). Apps run inside TestClient as a context manager, so their
lifespan (the pool) starts and stops.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agentledger_api import create_app
from agentledger_api.settings import ApiSettings
from tests.support import databases

PROBLEM_JSON = "application/problem+json"
TEST_SETTINGS = {"pool_min_size": 1, "pool_max_size": 4}
# The kind of principal a key's role suggests: people review and audit, agents work, services submit.
ROLE_KIND = {"reviewer": "human", "auditor": "human", "worker": "agent", "submitter": "service"}
_key_numbers = itertools.count()  # key and principal names are never reused, so they are unique per run


@dataclass
class ApiHarness:
    """A started app client, the database it serves, and helpers for keys and checks."""

    client: TestClient
    settings: ApiSettings
    admin_dsn: str  # superuser, same database: for checks and for making keys
    db_user: str  # the login role the app connects as

    def principal(self, name: str | None = None, kind: str = "agent") -> str:
        """A new principal of this kind; its name."""
        name = name or f"{kind}-{next(_key_numbers)}"
        self.sql("SELECT api.create_principal(%s, %s)", name, kind)
        return name

    def new_key(
        self,
        role: str,
        name: str | None = None,
        *,
        principal: str | None = None,
        kind: str | None = None,
        event_types: list[str] | None = None,
        customers: str | None = None,
    ) -> tuple[str, str]:
        """(name, key text) of a new API key with this role. Without `principal`, the key gets a new
        principal of the key's name, of `kind` (default ROLE_KIND[role]); with it, the key is another
        key of that existing principal. `event_types` and `customers` (a LIKE pattern) limit the key."""
        name = name or f"{role}-{next(_key_numbers)}"
        if principal is None:
            principal = self.principal(name, kind or ROLE_KIND[role])
        key = self.sql("SELECT api.create_api_key(%s, %s, %s, %s, %s)", principal, role, name, event_types, customers)[
            0
        ][0]
        return name, key

    def key(self, role: str, name: str | None = None, **options: Any) -> dict[str, str]:
        """Headers carrying a new key with this role: {"Authorization": "Bearer al_..."}; `options`
        as new_key's (principal, kind, event_types, customers)."""
        return bearer(self.new_key(role, name, **options)[1])

    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run one statement as superuser (autocommit); its rows, or [] for a command."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            cursor = conn.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []

    def count(self, where: str = "true", *params: Any) -> int:
        """Rows of ledger.events matching a WHERE clause."""
        return self.sql(f"SELECT count(*) FROM ledger.events WHERE {where}", *params)[0][0]

    def totals(self) -> tuple[int, int]:
        """(events, audit rows) in the whole database: equal before and after a refused request."""
        return self.sql("SELECT (SELECT count(*) FROM ledger.events), (SELECT count(*) FROM ledger.audit_log)")[0]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def event(customer_id: str = "cust-1", event_type: str = "loan_application", **fields: Any) -> dict[str, Any]:
    """A valid POST /events body, with `fields` added or replaced."""
    return {"customer_id": customer_id, "event_type": event_type, "payload": {"amount": 25000}, **fields}


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and this `code`, if given); its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert {"type", "title", "status"} <= body.keys(), body
    assert body["status"] == status and body["type"].startswith("https://"), body
    if code is not None:
        assert body.get("code") == code, body
    return body


def api_factory(stack: ExitStack, admin_dsn: str, new_login: Callable[[], str]) -> Callable[..., ApiHarness]:
    """make(**overrides): start an app on admin_dsn's database as a new login role; stack stops it."""

    def make(**overrides: Any) -> ApiHarness:
        api_dsn = new_login()
        settings = ApiSettings(**{"database_url": api_dsn, **TEST_SETTINGS, **overrides})
        client = stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))
        harness = ApiHarness(client, settings, admin_dsn, str(conninfo_to_dict(api_dsn)["user"]))
        databases.acting_admin(admin_dsn)
        return harness

    return make


@pytest.fixture
def make_api(fresh_db: str, login_as: Callable[[str, str], str]) -> Iterator[Callable[..., ApiHarness]]:
    """make_api(**overrides) -> ApiHarness of a started app on this test's own database."""
    with ExitStack() as stack:
        yield api_factory(stack, fresh_db, lambda: login_as(fresh_db, "agentledger_api"))


@pytest.fixture
def api(make_api: Callable[..., ApiHarness]) -> ApiHarness:
    """A started app with the default settings on this test's own database."""
    return make_api()


@pytest.fixture(scope="module")
def module_make_api(deployed_template: str) -> Iterator[Callable[..., ApiHarness]]:
    """make_api, on one database for the whole test module (see the module docstring)."""
    roles: list[str] = []

    def new_login(admin_dsn: str) -> str:
        name = f"agentledger_test_login_{secrets.token_hex(4)}"
        databases.execute(
            databases.ADMIN_URL, sql.SQL("CREATE ROLE {} LOGIN IN ROLE agentledger_api").format(sql.Identifier(name))
        )
        roles.append(name)
        return make_conninfo(admin_dsn, user=name)

    with databases.scratch_database(template=deployed_template) as admin_dsn, ExitStack() as stack:
        yield api_factory(stack, admin_dsn, lambda: new_login(admin_dsn))
    for name in roles:
        databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def module_api(module_make_api: Callable[..., ApiHarness]) -> ApiHarness:
    """A started app with the default settings on the module's shared database."""
    return module_make_api()
