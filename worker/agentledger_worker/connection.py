"""One database connection that comes back after it breaks, and calls bounded in time.

Each part of a worker (claims, reports, heartbeats and maintenance) has its own, so a slow report
never delays a claim. `run(fn)` hands the connection to fn; when the connection is lost, fn's error
propagates after the connection is dropped, and the next call reconnects, waiting with back-off.
A call that cannot connect fails too (`retrying(fn)` goes on until it gets through).

`answered_within(conn, call, seconds)` bounds a call on a connection: the worker's calls and the
HTTP API's go through it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

log = logging.getLogger("agentledger.worker")
T = TypeVar("T")
Connection = psycopg.AsyncConnection[DictRow]  # what a ReconnectingConnection hands out: rows as dicts

# Errors after which the connection cannot be trusted: the server went away, the socket broke,
# or a statement was abandoned half-way. (ReconnectingConnection.run raises NotAPrincipal instead
# for SQLSTATE 28000, itself an OperationalError: that connection is sound, and retrying cannot help.)
LOST = (psycopg.OperationalError, psycopg.InterfaceError, OSError, asyncio.TimeoutError)


class NotAPrincipal(Exception):
    """The database acts for nobody on this connection (SQLSTATE 28000): its login is mapped to no
    active principal. Every call will be refused the same way until an administrator maps it
    (`agentledger principals add NAME --kind agent --login LOGIN`); the message and hint are the
    database's."""

    def __init__(self, exc: psycopg.Error):
        diag = exc.diag
        super().__init__(
            (diag.message_primary or str(exc)) + (f"\nhint: {diag.message_hint}" if diag.message_hint else "")
        )


class Backoff:
    """Delays for retries: doubling from `first` up to `cap`, with jitter (by default) so that many
    workers do not reconnect in step."""

    def __init__(self, first: float = 0.1, cap: float = 10.0, jitter: bool = True):
        self.first, self.cap, self.current, self.jitter = first, cap, first, jitter

    def next(self) -> float:
        delay = self.current * random.uniform(0.5, 1.0) if self.jitter else self.current
        self.current = min(self.cap, self.current * 2)
        return delay

    def reset(self) -> None:
        self.current = self.first


def connect_kwargs(purpose: str, worker_name: str) -> dict[str, Any]:
    # TCP keepalives notice a dead peer on an idle socket, which otherwise raises no error.
    return {
        "autocommit": True,
        "application_name": f"agentledger worker {worker_name} ({purpose})"[:63],
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "connect_timeout": 10,
    }


class ReconnectingConnection:
    """A connection of one part of a worker (`purpose`), made again when it is lost."""

    def __init__(self, dsn: str, purpose: str, worker_name: str, deadline: float = 30.0):
        self.dsn, self.purpose, self.worker_name = dsn, purpose, worker_name
        # A call that has not answered by then is given up, and its connection with it: a socket
        # that went silent raises nothing by itself, and TCP keepalives may not notice.
        self.deadline = deadline
        self.connect_timeout = max(2, min(10, math.ceil(deadline)))
        self._conn: Connection | None = None
        self._backoff = Backoff()
        self._failed = False

    async def connection(self) -> Connection:
        """The open connection, or a new one. One attempt per call: after the back-off if the last
        one failed, and no longer than the call deadline (libpq's least is 2 s; at most 10 s). A
        failed attempt raises, so that the caller knows the database is out of reach (a heartbeat
        can tell a handler its lease is gone); its next call tries again."""
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._failed:
            await asyncio.sleep(self._backoff.next())
        kwargs = {**connect_kwargs(self.purpose, self.worker_name), "connect_timeout": self.connect_timeout}
        try:
            self._conn = await psycopg.AsyncConnection.connect(self.dsn, row_factory=dict_row, **kwargs)
        except LOST as exc:
            self._failed = True
            log.warning("%s connection: cannot connect: %s", self.purpose, one_line(exc))
            raise
        if self._failed:
            log.info("%s connection: reconnected", self.purpose)
        self._failed = False
        self._backoff.reset()
        return self._conn

    async def run(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        conn = await self.connection()
        try:
            return await answered_within(conn, fn(conn), self.deadline)
        except psycopg.errors.InvalidAuthorizationSpecification as exc:
            raise NotAPrincipal(exc) from None
        except LOST as exc:
            self._failed = True
            log.warning("%s connection lost: %s", self.purpose, one_line(exc))
            await self.close()
            raise
        except asyncio.CancelledError:
            await self.close()  # a statement abandoned half-way leaves the connection unusable
            raise

    async def retrying(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """run(fn) until it gets through a lost connection; other errors (NotAPrincipal too) propagate."""
        while True:
            try:
                return await self.run(fn)
            except LOST:
                continue

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)


async def close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
    """Close a connection that may be broken or silent: never raise, never wait long."""
    if conn is not None and not conn.closed:
        try:
            await asyncio.wait_for(conn.close(), timeout=2)
        except (*LOST, asyncio.CancelledError):
            pass


async def answered_within(conn: psycopg.AsyncConnection[Any], call: Awaitable[T], seconds: float) -> T:
    """The result of `call`, a call on `conn`, if it comes within `seconds`; else TimeoutError.

    Why not asyncio.wait_for: psycopg answers the cancellation of a call by asking the server to
    cancel the query, over a new connection, for up to 5 s, and then waiting up to 5 s more for the
    query to end. When the link to the server has gone silent (packets dropped, nothing reset)
    that is 10 s past any deadline. Here the call runs in a task of its own that is never
    cancelled: at the deadline, or when the caller is cancelled (an outer timeout), the socket of
    the connection is shut down, which ends the call at once with an error, and the connection is
    closed without a word to the server. After a TimeoutError or a cancellation, `conn` is closed:
    a pool discards it, a ReconnectingConnection makes a new one.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(call)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        sever(conn)

    timer = loop.call_later(seconds, expire)
    try:
        result = await asyncio.shield(task)
    except asyncio.CancelledError:
        if expired or not task.done():  # the caller was cancelled while the call went on
            await _abandon(conn, task)
        raise
    except Exception:
        if not expired:
            raise  # an error of the call's own
        await _abandon(conn, task)
        raise TimeoutError(f"the database did not answer within {seconds:g} s") from None
    finally:
        timer.cancel()
    if expired:  # the answer came as the deadline passed: it stands, but the socket is shut down
        conn.pgconn.finish()
    return result


def sever(conn: psycopg.AsyncConnection[Any]) -> None:
    """Shut the socket of `conn` down, both ways, without waiting for anything: a call waiting on
    it fails at once, whatever the server or the network do. The descriptor stays open (closing it
    under a waiting call could hand its number to another socket); closing `conn` closes it."""
    try:
        fd = conn.pgconn.socket
    except psycopg.Error:
        return  # closed already
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate: closing it leaves fd alone
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more


async def _abandon(conn: psycopg.AsyncConnection[Any], task: asyncio.Future[Any]) -> None:
    """Sever `conn`, let the call on it end (at once, on a severed socket), and close `conn`."""
    sever(conn)
    try:
        await asyncio.wait({task}, timeout=1.0)
    finally:
        if task.done():
            if not task.cancelled():
                task.exception()  # the severed call's error: read, so asyncio does not log it
            conn.pgconn.finish()  # nothing is waiting on the socket any more
        else:
            task.cancel()


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
