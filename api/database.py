"""The connection pool, and calls of the database functions through it.

Connections run in autocommit: each call is one function call, which is its own transaction, so
no request holds a transaction open across an await. A batch is still all or nothing, because the
function takes the whole batch in one statement.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentledger_api.problems import unavailable
from agentledger_api.settings import Settings


def make_pool(settings: Settings) -> AsyncConnectionPool:
    async def configure(conn: psycopg.AsyncConnection) -> None:
        await conn.execute(f"SET statement_timeout = {int(settings.statement_timeout_ms)}")

    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_seconds,
        open=False,
        kwargs={"autocommit": True, "row_factory": dict_row, "application_name": "agentledger-api"},
        configure=configure,
    )


async def fetch_all(pool: AsyncConnectionPool, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()
    except PoolTimeout:
        raise unavailable() from None


async def fetch_one(pool: AsyncConnectionPool, query: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    rows = await fetch_all(pool, query, params)
    return rows[0] if rows else None
