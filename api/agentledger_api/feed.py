"""One live reader of the audit trail per process, shared by every stream subscriber.

It wakes on the database's notifications (one LISTEN connection, outside the pool) and polls as
well, since not every change notifies and a notification can be lost. It delivers audit rows in seq
order, only up to a final position (api.audit_feed_position), so a row that commits after a higher
seq was read is never skipped. It polls only while someone is subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from agentledger_api.database import fetch_all, fetch_one, fetch_row
from agentledger_worker.channels import WORK_CHANNEL
from agentledger_worker.connection import Backoff
from agentledger_worker.listening import ChannelListener

log = logging.getLogger("agentledger.api.feed")


@dataclass(eq=False)  # identity, so subscribers can live in a set
class Subscriber:
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    overflowed: bool = False


class AuditFeed:
    def __init__(self, pool: AsyncConnectionPool, database_url: str, poll_seconds: float = 0.25) -> None:
        self.pool, self.database_url, self.poll_seconds = pool, database_url, poll_seconds
        self.subscribers: set[Subscriber] = set()
        self.final_seq = 0  # rows up to here are final and have been delivered
        self.pending: list[tuple[int, list[str]]] = []  # (last_seq, writers) not yet final
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()  # subscribing and starting the task, one at a time
        self.task: asyncio.Task | None = None

    async def subscribe(self) -> tuple[Subscriber, int]:
        """A new subscriber, and the seq up to which it must catch up by itself (api.audit_feed)."""
        async with self.lock:
            if not self.subscribers:
                # Nobody was listening, so the poller was idle: start again from a final position now.
                self.final_seq = await self._settled_position()
                self.pending.clear()
            subscriber = Subscriber()
            self.subscribers.add(subscriber)
            if self.task is None or self.task.done():
                self.task = asyncio.create_task(self._run())
            self.wake.set()
            return subscriber, self.final_seq

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _settled_position(self) -> int:
        """A position that is final now: wait (briefly) for the writers in flight to end."""
        row = await fetch_row(self.pool, "SELECT * FROM api.audit_feed_position()")
        last_seq, writers = row["last_seq"], row["writers"]
        while writers:
            await asyncio.sleep(0.02)
            still = await fetch_one(
                self.pool, "SELECT still_writing FROM api.audit_feed_position(%(w)s)", {"w": writers}
            )
            writers = still["still_writing"] if still else []
        return last_seq

    async def _run(self) -> None:
        """One task per process for its whole life: polls while anyone listens, idles otherwise."""
        listener = asyncio.create_task(self._listener().run())
        delay = self.poll_seconds
        try:
            while True:
                if self.subscribers:
                    try:
                        await self._step()
                        delay = self.poll_seconds
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # the database is away or busy: keep trying, slower
                        log.warning("feed poll failed: %s", exc)
                        delay = min(delay * 2, 5.0)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), delay if self.subscribers else None)
                self.wake.clear()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener

    async def _step(self) -> None:
        waiting = sorted({w for _, writers in self.pending for w in writers})
        row = await fetch_row(self.pool, "SELECT * FROM api.audit_feed_position(%(w)s)", {"w": waiting})
        # Writers seen now are still writing, whatever the earlier positions say.
        still = set(row["still_writing"]) | set(row["writers"])
        self.pending.append((row["last_seq"], row["writers"]))
        final = self.final_seq
        while self.pending and not still.intersection(self.pending[0][1]):
            final = max(final, self.pending.pop(0)[0])
        while final > self.final_seq:
            rows = await fetch_all(
                self.pool, "SELECT * FROM api.audit_feed(%(a)s, %(b)s, 1000)", {"a": self.final_seq, "b": final}
            )
            if not rows:
                break
            for entry in rows:
                self._publish(entry)
            self.final_seq = rows[-1]["seq"] if len(rows) == 1000 else final
        self.final_seq = max(self.final_seq, final)

    def _publish(self, entry: dict[str, Any]) -> None:
        for subscriber in list(self.subscribers):
            try:
                subscriber.queue.put_nowait(entry)
            except asyncio.QueueFull:
                # A reader this far behind is dropped; it resumes with Last-Event-ID and misses nothing.
                subscriber.overflowed = True
                self.subscribers.discard(subscriber)

    def _listener(self) -> ChannelListener:
        """Wakes the poller on notifications, and after every (re)connect: something may have
        happened while not listening. Reconnects with back-off when the connection drops."""
        return ChannelListener(
            self.database_url,
            WORK_CHANNEL,
            lambda notify: self.wake.set(),
            on_listening=lambda reconnected: self.wake.set(),
            connect_kwargs={"autocommit": True, "application_name": "agentledger-api-feed"},
            backoff=Backoff(first=0.5, cap=10.0, jitter=False),
            retry_on=(psycopg.Error, OSError),
            label="feed LISTEN connection",
            logger=log,
        )
