"""Deadlines hold while the link to PostgreSQL is silent: packets dropped, nothing reset.

A real uvicorn serves the API through a TCP proxy; a worker's connection goes through it too. The
proxy then partitions the link (connections open and new ones carry nothing, nothing is closed)
for a little longer than the longest deadline, and the test measures on the wall clock:

- requests in flight (a read, a write, one waiting for a pooled connection) each answer 503 with
  Retry-After within the request deadline, AGENTLEDGER_POOL_TIMEOUT_SECONDS +
  AGENTLEDGER_STATEMENT_TIMEOUT_MS + 2 s (docs/operations.md, "Deadlines");
- /readyz answers 503 within its 1.5 s;
- a worker's database call gives up within its call_timeout.

Each within the deadline plus MARGIN: a bound on behaviour, not a benchmark. Given up on, a
connection is closed without waiting for the silent server, not returned to the pool: once the
link is back, every request succeeds at once on new connections.

Before the fix each overran by about 10 s: on a timeout psycopg first sends a cancel request over
the silent link (giving up after 5 s), then waits 5 s more for the query to end.

Also here: in one process, the calls of one request share its deadline, and a stream's calls,
once its response has started, are bounded one by one; and a worker cut off from the database
tells its handler to stop soon after the lease ends, while still cut off (before, its heartbeats
waited for a new connection as long as the link was silent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import AsyncConnectionPool

from agentledger_api import database
from agentledger_api.problems import Problem
from agentledger_worker import Worker
from agentledger_worker.connection import LOST, ReconnectingConnection
from tests.support import databases
from tests.support.api import PROBLEM_JSON, bearer, event
from tests.support.proxy import Proxy
from tests.support.servers import serving
from tests.support.workers import async_wait_until, running, sql, statuses, submit
from tests.support.workers import settings as worker_settings

POOL_TIMEOUT = 1.0  # AGENTLEDGER_POOL_TIMEOUT_SECONDS
STATEMENT_TIMEOUT = 1.0  # AGENTLEDGER_STATEMENT_TIMEOUT_MS / 1000
REQUEST_DEADLINE = POOL_TIMEOUT + STATEMENT_TIMEOUT + 2.0
READINESS_DEADLINE = 1.5
CALL_TIMEOUT = 2.0  # the worker's call_timeout
MARGIN = 1.5
PARTITION = REQUEST_DEADLINE + MARGIN + 1.0  # long enough to tell a kept deadline from an overrun


def through(proxy_port: int, dsn: str) -> str:
    return make_conninfo(dsn, host="127.0.0.1", port=proxy_port, sslmode="disable")


def later(delay: float, call: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """call, sent `delay` seconds after the others (not counted in its time)."""

    async def delayed() -> Any:
        await asyncio.sleep(delay)
        return await call()

    delayed.delay = delay  # type: ignore[attr-defined]
    return delayed


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """(seconds taken, result or the exception raised), from when the call was sent."""
    started = time.monotonic() + getattr(call, "delay", 0.0)
    try:
        result: Any = await call()
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


async def until_ready(http: httpx.AsyncClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (await http.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, f"not ready {timeout} s after the link came back"
        await asyncio.sleep(0.1)


@pytest.mark.stress  # a silent link, held for seconds
def test_a_silent_link_costs_each_caller_no_more_than_its_deadline(
    fresh_db: str, login_as: Callable[[str, str], str], tmp_path: Path
) -> None:
    api_dsn, worker_dsn = login_as(fresh_db, "agentledger_api"), login_as(fresh_db, "agentledger_worker")
    target = conninfo_to_dict(databases.ADMIN_URL)
    with psycopg.connect(fresh_db, autocommit=True) as admin:
        admin.execute("SELECT api.create_principal('timed', 'agent')")
        headers = bearer(admin.execute("SELECT api.create_api_key('timed', 'worker')").fetchone()[0])  # type: ignore[index]

    async def scenario() -> dict[str, Any]:
        proxy = Proxy(str(target.get("host") or "127.0.0.1"), int(target.get("port") or 5432))
        port = await proxy.start()
        env = {
            **databases.client_env(),
            "DATABASE_URL": through(port, api_dsn),
            "AGENTLEDGER_POOL_MIN_SIZE": "3",
            "AGENTLEDGER_POOL_MAX_SIZE": "4",
            "AGENTLEDGER_POOL_TIMEOUT_SECONDS": str(POOL_TIMEOUT),
            "AGENTLEDGER_STATEMENT_TIMEOUT_MS": str(int(STATEMENT_TIMEOUT * 1000)),
        }
        server_context = serving(env, tmp_path)
        server = await asyncio.to_thread(server_context.__enter__)
        worker = ReconnectingConnection(through(port, worker_dsn), "claims", "timed", deadline=CALL_TIMEOUT)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                created = await http.post("/events", json=event(), headers=headers)
                assert created.status_code == 201, created.text
                path = f"/events/{created.json()['id']}"
                assert (await http.get(path, headers=headers)).status_code == 200  # the key is cached now
                assert (await http.get("/readyz")).status_code == 200
                await worker.run(lambda conn: conn.execute("SELECT 1"))

                open_then = proxy.partition()
                asyncio.get_running_loop().call_later(PARTITION, proxy.heal)
                # In this order, so that /readyz, the GET and the POST each take one of the three
                # pooled connections, and the last GET waits for a new one, which cannot connect.
                measured = await asyncio.gather(
                    timed(later(0.2, lambda: http.get(path, headers=headers))),
                    timed(later(0.2, lambda: http.post("/events", json=event(), headers=headers))),
                    timed(later(0.4, lambda: http.get(path, headers=headers))),
                    timed(lambda: http.get("/readyz")),
                    timed(lambda: worker.run(lambda conn: conn.execute("SELECT 1"))),
                )
                await asyncio.sleep(max(0.0, PARTITION - max(seconds for seconds, _ in measured)) + 0.1)

                # The link is back: once ready, with the connections given up on gone, it serves at once.
                ready_after = await timed(lambda: until_ready(http))
                after = [await timed(lambda: http.get(path, headers=headers)) for _ in range(10)]
                worker_after = await timed(lambda: worker.run(lambda conn: conn.execute("SELECT 1")))
                return {
                    "open": open_then,
                    "measured": measured,
                    "ready_after": ready_after,
                    "after": after,
                    "worker_after": worker_after,
                }
        finally:
            await worker.close()
            await asyncio.to_thread(server_context.__exit__, None, None, None)
            await proxy.close()

    result = asyncio.run(scenario())
    assert result["open"] >= 4, result  # the pool's three connections and the worker's
    *requests, readiness, worker_call = result["measured"]
    report = "; ".join(
        f"{name}: {seconds:.2f} s -> {getattr(answer, 'status_code', None) or type(answer).__name__}"
        for name, (seconds, answer) in zip(
            ["GET", "POST", "GET (pool)", "/readyz", "worker call"], result["measured"], strict=True
        )
    )
    for seconds, response in requests:
        assert isinstance(response, httpx.Response), report
        assert response.status_code in (503, 504), report
        assert response.headers["content-type"].startswith(PROBLEM_JSON) and "retry-after" in response.headers
        assert seconds <= REQUEST_DEADLINE + MARGIN, report
    seconds, response = readiness
    assert isinstance(response, httpx.Response) and response.status_code == 503, report
    assert seconds <= READINESS_DEADLINE + MARGIN, report
    seconds, error = worker_call
    assert isinstance(error, LOST), report
    assert seconds <= CALL_TIMEOUT + MARGIN, report

    assert not isinstance(result["ready_after"][1], Exception), result["ready_after"]
    for seconds, response in result["after"]:
        assert isinstance(response, httpx.Response) and response.status_code == 200, result["after"]
        assert seconds < 1.0, result["after"]
    seconds, answer = result["worker_after"]
    assert not isinstance(answer, Exception) and seconds < 2.0, result["worker_after"]


def test_the_calls_of_a_request_share_its_deadline(fresh_db: str) -> None:
    """A call made when the request's deadline is near gets only what is left of it, then none;
    its connection is closed and discarded. Once the response has started, each call has its own."""

    async def scenario() -> dict[str, Any]:
        pool = AsyncConnectionPool(
            fresh_db, min_size=1, max_size=2, timeout=0.5, open=False, kwargs={"autocommit": True}
        )
        pool.statement_timeout_seconds = 0.5  # type: ignore[attr-defined]  # a call: 0.5 + 0.5 + 2 s
        await pool.open(wait=True)
        loop = asyncio.get_running_loop()
        try:
            request = database.RequestDeadline()
            request.at = loop.time() + 1.0  # as if an earlier call of the request had used 2 s of 3
            token = database.REQUEST_DEADLINE.set(request)
            try:
                slow = await timed(lambda: database.fetch_all(pool, "SELECT pg_sleep(2.5)"))
                late = await timed(lambda: database.fetch_all(pool, "SELECT 1 AS one"))
                request.open = False  # the response has started: this call has its own 3 s
                streamed = await timed(lambda: database.fetch_all(pool, "SELECT 1 AS one, pg_sleep(1.2)"))
            finally:
                database.REQUEST_DEADLINE.reset(token)
            return {"slow": slow, "late": late, "streamed": streamed, "stats": pool.get_stats()}
        finally:
            await pool.close()

    result = asyncio.run(scenario())
    seconds, error = result["slow"]
    assert isinstance(error, Problem) and error.status == 503 and seconds < 1.0 + MARGIN, result
    assert result["stats"].get("returns_bad") == 1, result  # closed, not pooled again
    seconds, error = result["late"]
    assert isinstance(error, Problem) and error.status == 503 and seconds < 0.1, result
    seconds, rows = result["streamed"]
    assert rows == [{"one": 1, "pg_sleep": ""}] and seconds >= 1.2, result


@pytest.mark.stress  # a silent link, held for seconds
def test_a_worker_cut_off_stops_its_handler_once_the_lease_ends(
    fresh_db: str, login_as: Callable[[str, str], str]
) -> None:
    """Heartbeats cannot reach the database, nor can a new connection: the handler is told to stop
    (an async one is cancelled) soon after its lease ends, while the link is still silent, since
    the rescue may give the event to another worker by then. Once the link is back the event is
    rescued, claimed again, and decided once."""
    lease, partition = 3.0, 14.0
    worker_settings(fresh_db, lease_duration=f"{lease:g} seconds")
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    target = conninfo_to_dict(worker_dsn)
    moments: dict[str, float] = {}
    worker = Worker(name="cut-off", poll_interval=0.5, call_timeout=CALL_TIMEOUT, rescue_interval=0.5)

    @worker.handler("fraud_alert")
    async def decide(event: Any, ctx: Any) -> Any:
        if "started" in moments:
            return ctx.approve()
        moments["started"] = time.monotonic()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            moments["stopped"] = time.monotonic()
            raise
        return ctx.approve()

    async def scenario() -> None:
        proxy = Proxy(str(target.get("host") or "127.0.0.1"), int(target.get("port") or 5432))
        port = await proxy.start()
        async with running(worker, through(port, worker_dsn)):
            await asyncio.to_thread(submit, fresh_db, 1, "fraud_alert")
            await async_wait_until(lambda: "started" in moments, 10, "the handler to start")
            await asyncio.sleep(0.5)  # a heartbeat or two before the link goes silent
            proxy.partition()
            moments["partition"] = time.monotonic()
            await asyncio.sleep(partition)
            proxy.heal()
            await async_wait_until(lambda: statuses(fresh_db) == {"approved": 1}, 20, "the event decided")
        await proxy.close()

    asyncio.run(scenario())
    assert "stopped" in moments, moments
    stopped_after = moments["stopped"] - moments["partition"]
    # After the lease ended, before the link came back: about the lease plus a failed heartbeat.
    assert lease - 1.0 <= stopped_after <= lease + 8.0, stopped_after
    trail = sql(fresh_db, "SELECT from_status::text, to_status::text FROM ledger.audit_log ORDER BY seq")
    claims = [row for row in trail if row[1] == "processing"]
    assert len(claims) == 2 and trail[-1] == ("processing", "approved"), trail  # claimed again, decided once
