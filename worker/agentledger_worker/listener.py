"""The LISTEN connection: wakes the worker when new work is announced.

A notification is only a hint (the worker also polls), so this connection may drop at any time:
it reconnects with back-off, and wakes the worker after every reconnect, because notifications
sent while it was away are gone. When quiet it checks itself every `check_interval`: a half-open
socket raises no error until something is sent on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import psycopg

from agentledger_worker.connection import LOST, Backoff, one_line, close_quietly, connect_kwargs

log = logging.getLogger("agentledger.worker")
CHANNEL = "agentledger_work"


class Listener:
    def __init__(self, dsn: str, worker_name: str, on_work: Callable[[dict | None], None],
                 check_interval: float, check_timeout: float):
        self.dsn, self.worker_name = dsn, worker_name
        # on_work(message): the notification's payload ({"queued": {type: n}} or {"actions": ...}),
        # or None for "anything may be waiting".
        self.on_work = on_work
        self.check_interval, self.check_timeout = check_interval, check_timeout
        self.connected = asyncio.Event()
        self.conn: psycopg.AsyncConnection | None = None
        self.reconnects = 0

    async def run(self) -> None:
        backoff = Backoff()
        first = True
        while True:
            try:
                self.conn = await psycopg.AsyncConnection.connect(
                    self.dsn, **connect_kwargs("listen", self.worker_name))
                await self.conn.execute(f"LISTEN {CHANNEL}")
                if not first:
                    self.reconnects += 1
                    log.info("listen connection: reconnected; looking for work missed meanwhile")
                first = False
                backoff.reset()
                self.connected.set()
                self.on_work(None)
                await self._listen(self.conn)
            except LOST as exc:
                log.warning("listen connection lost: %s", one_line(exc))
            finally:
                self.connected.clear()
                await self._close()
            await asyncio.sleep(backoff.next())

    async def _listen(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            async for notify in conn.notifies(timeout=self.check_interval):
                self._dispatch(notify.payload)
            # A quiet interval (or a busy one ended): prove the socket still answers.
            await asyncio.wait_for(conn.execute("SELECT 1"), timeout=self.check_timeout)

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        self.on_work(message if isinstance(message, dict) else None)

    async def _close(self) -> None:
        conn, self.conn = self.conn, None
        await close_quietly(conn)
