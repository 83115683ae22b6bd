"""What the worker tests share: submitting events, reading their end state, waiting for it, and
running a Worker in this process or as a real `agentledger worker` process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import psycopg

from tests.support import databases


def sql(dsn: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []


def submit(dsn: str, count: int, event_type: str = "loan_application", payload: str = "{}") -> list[int]:
    """count events in batches of 1,000 (one notification per batch), by the principal dsn's login
    acts for; their ids."""
    ids: list[int] = []
    for first in range(0, count, 1000):
        rows = sql(
            dsn,
            """SELECT id FROM api.submit_events(
                             (SELECT jsonb_agg(jsonb_build_object('customer_id', 'cust-' || g, 'event_type', %s::text,
                                                                  'payload', %s::jsonb) ORDER BY g)
                                FROM generate_series(%s::int, %s::int) g))""",
            event_type,
            payload,
            first,
            min(first + 1000, count) - 1,
        )
        ids += [r[0] for r in rows]
    return ids


def statuses(dsn: str) -> Counter[str]:
    return Counter({status: n for status, n in sql(dsn, "SELECT status::text, count(*) FROM ledger.events GROUP BY 1")})


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


async def async_wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def settings(dsn: str, **values: str) -> None:
    """UPDATE ledger.settings (as the owner may): e.g. lease_duration='2 s'."""
    assignments = ", ".join(f"{name} = %s::interval" for name in values)
    sql(dsn, f"UPDATE ledger.settings SET {assignments}", *values.values())


@asynccontextmanager
async def running(worker, dsn: str):
    """The worker running in this event loop; stopped gracefully on leaving, which must return 0."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_async(dsn, stop))
    try:
        yield task
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 30)
    assert code == 0


@contextmanager
def worker_process(
    dsn: str, app: str, *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen]:
    """`agentledger worker --app tests.worker_apps:<app>` as a real process, from the repository root;
    killed on leaving if it still runs. Its stderr goes to log (a file) when given."""
    stream = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115  (the process writes to it; closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "agentledger", "worker", "--app", f"tests.worker_apps:{app}", *args],
        cwd=databases.REPO_ROOT,
        env={**os.environ, "DATABASE_URL": dsn, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=stream,
        stderr=stream,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        if log:
            stream.close()
