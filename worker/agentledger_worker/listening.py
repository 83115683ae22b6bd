"""A LISTEN connection that comes back after it breaks.

A notification is only a hint (whoever listens also polls), so the connection may drop at any time:
`ChannelListener.run()` reconnects with back-off, runs LISTEN again, and calls `on_listening` after
every (re)connect, because notifications sent while it was away are gone. With `check_interval`
set, a quiet connection checks itself that often: a half-open socket raises no error until
something is sent on it.

Used by the worker's listener (listener.py) and by the HTTP API's live feed (agentledger_api.feed);
it needs nothing but psycopg.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from agentledger_worker.channels import CHANNELS
from agentledger_worker.connection import LOST, Backoff, answered_within, close_quietly, one_line

log = logging.getLogger("agentledger.worker")


class ChannelListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        on_notify: Callable[[psycopg.Notify], None],
        *,
        connect_kwargs: Mapping[str, Any],
        on_listening: Callable[[bool], None] | None = None,
        check_interval: float | None = None,
        check_timeout: float = 5.0,
        backoff: Backoff | None = None,
        retry_on: tuple[type[BaseException], ...] = LOST,
        label: str = "listen connection",
        logger: logging.Logger = log,
    ) -> None:
        """on_notify(notify) for each notification; on_listening(reconnected) once LISTEN has run,
        reconnected being False the first time. Errors of `retry_on` drop the connection and
        reconnect after `backoff`; any other error ends run()."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}: the channels are {', '.join(sorted(CHANNELS))}")
        self.dsn, self.channel = dsn, channel
        self.on_notify, self.on_listening = on_notify, on_listening
        self.connect_kwargs = dict(connect_kwargs)
        self.check_interval, self.check_timeout = check_interval, check_timeout
        self.backoff = backoff or Backoff()
        self.retry_on, self.label, self.log = retry_on, label, logger
        self.connected = asyncio.Event()  # set while LISTEN is in effect
        self.conn: psycopg.AsyncConnection[Any] | None = None
        self.reconnects = 0

    async def run(self) -> None:
        """Listen until cancelled."""
        first = True
        while True:
            try:
                self.conn = await psycopg.AsyncConnection.connect(self.dsn, **self.connect_kwargs)
                await self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                if not first:
                    self.reconnects += 1
                self.backoff.reset()
                self.connected.set()
                if self.on_listening is not None:
                    self.on_listening(not first)
                first = False
                await self._receive(self.conn)
            except self.retry_on as exc:
                delay = self.backoff.next()
                self.log.warning("%s lost: %s; reconnecting in %.1f s", self.label, one_line(exc), delay)
            else:
                delay = self.backoff.next()
            finally:
                self.connected.clear()
                await self._close()
            await asyncio.sleep(delay)

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notify in conn.notifies(timeout=self.check_interval):
                self.on_notify(notify)
            if self.check_interval is not None:
                # A quiet interval (or a busy one ended): prove the socket still answers.
                await answered_within(conn, conn.execute("SELECT 1"), self.check_timeout)

    async def _close(self) -> None:
        conn, self.conn = self.conn, None
        await close_quietly(conn)
