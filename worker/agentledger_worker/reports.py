"""Reports in batches: what handlers decided, completed or failed, sent a few milliseconds later
together with everything else ready by then, one transaction per flush.

A flush that loses its connection, even during COMMIT, is sent again with the same lease tokens and
the same content: the database answers already_done for what was applied, and writes nothing twice.
When the database refuses a whole call (one event's result is not a JSON object, say), each report
of the flush is sent alone, so only the faulty one fails.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from agentledger_worker.connection import Connection, NotAPrincipal, ReconnectingConnection

log = logging.getLogger("agentledger.worker")

# One statement per step; a flush sends them in this order (an event is in at most one of them).
STEPS: dict[str, str] = {
    "decide": "SELECT * FROM api.decide_events(%s, %s, %s, %s, %s::jsonb[], %s)",
    "complete": "SELECT * FROM api.complete_events(%s, %s, %s::jsonb[])",
    "fail": "SELECT * FROM api.fail_events(%s, %s, %s, %s, %s)",
    "release": "SELECT * FROM api.release_events(%s, %s, %s)",
}


@dataclass
class Report:
    step: str
    event_id: int
    token: UUID
    args: tuple[Any, ...]  # the step's per-event values, in the order of its arrays
    group: Any = None  # reports of one call must agree on this (decide: keep_lease; release: reason)
    answer: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Reporter:
    def __init__(self, connection: ReconnectingConnection, flush_delay: float, max_batch: int):
        self.connection = connection
        self.flush_delay = flush_delay
        self.max_batch = max_batch
        self._queue: list[Report] = []
        self._ready = asyncio.Event()
        self.flushes = 0

    async def send(self, step: str, event_id: int, token: UUID, *args: Any, group: Any = None) -> dict[str, Any]:
        """Queue one report; returns its api.report row, or raises psycopg.Error when the database
        refused this report itself (NotAPrincipal when it acts for nobody on this login)."""
        report = Report(step, event_id, token, args, group)
        self._queue.append(report)
        self._ready.set()
        return await report.answer

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        """Flush until cancelled; cancel only once nothing is pending (see drain)."""
        while True:
            await self._ready.wait()
            await asyncio.sleep(self.flush_delay)
            await self._flush_ready()

    async def drain(self) -> None:
        while self._queue:
            await self._flush_ready()

    async def _flush_ready(self) -> None:
        batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        if not self._queue:
            self._ready.clear()
        if not batch:
            return
        try:
            await self._flush(batch)
        except Exception as exc:  # a bug must not stop every later report: fail these, go on
            log.exception("could not send a batch of %s reports", len(batch))
            for report in batch:
                if not report.answer.done():
                    report.answer.set_exception(exc)

    async def _flush(self, batch: list[Report]) -> None:
        calls = _calls(batch)
        sends = 0

        async def send(conn: Connection) -> list[list[dict[str, Any]]]:
            nonlocal sends
            sends += 1
            return await _send(conn, calls)

        try:
            rows = await self.connection.retrying(send)
        except NotAPrincipal as exc:  # the database takes nothing from this login: every report fails alike
            for report in batch:
                _settle_error(report, exc)
            return
        except psycopg.Error as exc:
            if len(batch) == 1:
                _settle_error(batch[0], exc)
                return
            log.info("a report batch was refused (%s); sending its %s reports one by one", exc.sqlstate, len(batch))
            for report in batch:
                await self._flush([report])
            return
        self.flushes += 1
        if sends > 1:
            repeats = sum(row["outcome"] == "already_done" for answers in rows for row in answers)
            log.info(
                "a batch of %s reports was sent again after its connection was lost: "
                "%s had been applied already (already_done), %s applied now",
                len(batch),
                repeats,
                len(batch) - repeats,
            )
        for (_, reports), answers in zip(calls, rows, strict=False):
            for report, row in zip(reports, answers, strict=False):
                if not report.answer.done():
                    report.answer.set_result(row)


def _calls(batch: list[Report]) -> list[tuple[tuple[str, Any], list[Report]]]:
    """The batch grouped into calls: by step (in STEPS order), then by group."""
    groups: dict[tuple[str, Any], list[Report]] = {}
    for report in batch:
        groups.setdefault((report.step, report.group), []).append(report)
    order = list(STEPS)
    return [(key, reports) for key, reports in sorted(groups.items(), key=lambda kv: order.index(kv[0][0]))]


def _params(step: str, group: Any, reports: list[Report]) -> tuple[Any, ...]:
    ids = [r.event_id for r in reports]
    tokens = [r.token for r in reports]
    columns = [list(values) for values in zip(*(r.args for r in reports), strict=False)] if reports[0].args else []
    if step == "decide":
        decisions, reasons, results = columns
        return ids, tokens, decisions, reasons, [_json(v) for v in results], group
    if step == "complete":
        return ids, tokens, [_json(v) for v in columns[0]]
    if step == "fail":
        errors, types, retryable = columns
        return ids, tokens, errors, types, retryable
    return ids, tokens, group  # release


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


async def _send(conn: Connection, calls: list[tuple[tuple[str, Any], list[Report]]]) -> list[list[dict[str, Any]]]:
    """Every call of a flush in one transaction, pipelined: one round trip and one commit."""
    cursors = []
    async with conn.pipeline(), conn.transaction():
        for (step, group), reports in calls:
            cursor = conn.cursor()
            await cursor.execute(STEPS[step], _params(step, group, reports), prepare=True)
            cursors.append(cursor)
    return [await cursor.fetchall() for cursor in cursors]


def _settle_error(report: Report, exc: Exception) -> None:
    if not report.answer.done():
        report.answer.set_exception(exc)
