"""The connection pool, and calls of the database functions through it.

Connections run in autocommit: each call is one function call, which is its own transaction, so
no request holds a transaction open across an await. A batch is still all or nothing, because the
function takes the whole batch in one statement.

Deadlines (docs/operations.md, "Deadlines"): a call waits at most AGENTLEDGER_POOL_TIMEOUT_SECONDS
for a pooled connection, and has AGENTLEDGER_POOL_TIMEOUT_SECONDS + AGENTLEDGER_STATEMENT_TIMEOUT_MS
+ 2 s in all; the server's statement_timeout ends a slow statement sooner, the extra 2 s are for
the network. A request shares one such deadline among all its calls (a key check, then the
route's calls), counted from its first call, until its response starts (a stream then bounds each
call alone). A call past its deadline answers 503 with Retry-After, and its connection is closed
at once and never returned to the pool (agentledger_worker.connection.answered_within).
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentledger_api.problems import unavailable
from agentledger_api.settings import ApiSettings
from agentledger_worker.connection import answered_within

# A JSON value written by an SQL client may be nested deeper, or hold longer numbers, than Python
# can read. It is shown as this marker rather than failing the whole response (or, worse, a claim
# that has already committed).
UNREADABLE = {
    "agentledger_unreadable": "this JSON value is nested too deeply or holds too long a number "
    "for the API; read it with SQL"
}


def _loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except (RecursionError, ValueError):
        return UNREADABLE


def make_pool(settings: ApiSettings) -> AsyncConnectionPool:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "SELECT r.rolsuper OR pg_has_role(current_user, 'agentledger_owner', 'MEMBER') AS too_strong, "
            "pg_has_role(current_user, 'agentledger_api', 'MEMBER') AS api FROM pg_roles r WHERE r.rolname = current_user"
        )
        role = await cursor.fetchone()
        if role is None or role["too_strong"] or not role["api"]:
            # The API must hold the API role's rights and no more: refuse to serve otherwise.
            raise psycopg.ProgrammingError(
                "the API connects as a login role that is a member of agentledger_api, never as a superuser "
                "or a member of agentledger_owner; fix DATABASE_URL"
            )
        set_json_loads(_loads, conn)
        await conn.execute(f"SET statement_timeout = {int(settings.statement_timeout_ms)}")

    pool = AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_seconds,
        open=False,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "application_name": "agentledger-api",
            # Find a dead or silent server: statement_timeout only works while the server answers.
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": settings.statement_timeout_ms + 5000,
        },
        configure=configure,
        # No check before each use: it costs a round trip per request (a fifth of the submit rate).
        # A connection the server dropped (a restart) fails one request with 503 and Retry-After,
        # and the pool replaces it.
    )
    pool.statement_timeout_seconds = settings.statement_timeout_ms / 1000  # type: ignore[attr-defined]
    return pool


class RequestDeadline:
    """The deadline of the request being served, shared by its database calls: set by the first
    one (in loop time), and no longer applied once the response has started (`open` False)."""

    __slots__ = ("at", "open")

    def __init__(self) -> None:
        self.at: float | None = None
        self.open = True


REQUEST_DEADLINE: ContextVar[RequestDeadline | None] = ContextVar("agentledger_request_deadline", default=None)


def call_seconds(pool: AsyncConnectionPool) -> float:
    """The deadline of one call: the wait for a connection, the statement, 2 s for the network."""
    return pool.timeout + (_statement_timeout(pool) or 5.0) + 2.0


async def fetch_all(
    pool: AsyncConnectionPool, query: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    now = loop.time()
    at = now + call_seconds(pool)
    request = REQUEST_DEADLINE.get()
    if request is not None and request.open:
        if request.at is None:
            request.at = at
        at = min(at, request.at)
    if at <= now:
        raise unavailable()
    try:
        conn = await pool.getconn(timeout=min(pool.timeout, at - now))
    except PoolTimeout:
        raise unavailable() from None
    try:
        if at <= loop.time():
            raise TimeoutError  # the wait for the connection took the whole deadline
        return await answered_within(conn, _fetch(conn, query, params), at - loop.time())
    except TimeoutError:
        raise unavailable() from None
    finally:
        await pool.putconn(conn)  # a connection closed on a deadline is discarded, not pooled


async def _fetch(conn: psycopg.AsyncConnection[Any], query: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def fetch_one(
    pool: AsyncConnectionPool, query: str, params: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    rows = await fetch_all(pool, query, params)
    return rows[0] if rows else None


class NoRow(RuntimeError):
    """A database function that always answers one row answered none: a fault, answered with 500."""


async def fetch_row(pool: AsyncConnectionPool, query: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one row of a function that always answers one (or refuses with an error)."""
    row = await fetch_one(pool, query, params)
    if row is None:
        raise NoRow(f"the database answered no row to: {query}")
    return row


def jsonb(value: Any) -> Jsonb | None:
    """A JSON parameter, or SQL NULL for None (psycopg would send None as JSON null)."""
    return Jsonb(value) if value is not None else None


def _statement_timeout(pool: AsyncConnectionPool) -> float | None:
    return getattr(pool, "statement_timeout_seconds", None)
