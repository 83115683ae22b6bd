"""api.queue_stats(), asked at most once per `stats_cache_seconds` by this process.

The statistics count the events table, which costs more as it grows; /stats and /metrics share one
cached answer. One refresh runs at a time: requests that find the answer stale while a refresh is
in flight wait for it rather than asking the database themselves.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agentledger_api.database import fetch_row


class StatsCache:
    def __init__(self, pool: AsyncConnectionPool, ttl: float) -> None:
        self.pool, self.ttl = pool, ttl
        self.value: dict[str, Any] | None = None
        self.expires = 0.0
        self.refreshes = 0  # database calls made, for tests and curiosity
        self.lock = asyncio.Lock()

    def _fresh(self) -> dict[str, Any] | None:
        return self.value if self.value is not None and time.monotonic() < self.expires else None

    async def get(self) -> dict[str, Any]:
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self.lock:
            fresh = self._fresh()  # refreshed while this request waited
            if fresh is not None:
                return fresh
            row = await fetch_row(self.pool, "SELECT api.queue_stats() AS stats")
            self.refreshes += 1
            self.value, self.expires = row["stats"], time.monotonic() + self.ttl
            return self.value
