"""A running worker: claims, runs handlers, reports, keeps leases, and stops cleanly.

The parts, each an asyncio task:
- the claim loop (here): takes work in batches when woken (LISTEN), when the poll interval passes,
  and while claims come back full; never more than free handler slots plus `prefetch`;
- one task per claimed event (here): runs its handlers and reports what they return;
- the reporter (reports.py): sends reports in batches, safe to repeat;
- upkeep (here): heartbeats for held leases and, one worker at a time, the rescue of expired ones;
- the listener (listener.py) and a progress line.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import json
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

from agentledger_worker.channels import ESCALATIONS_CHANNEL
from agentledger_worker.connection import LOST, Connection, NotAPrincipal, ReconnectingConnection
from agentledger_worker.context import Context, LeaseLost, Refused, SentToReview
from agentledger_worker.event import Event
from agentledger_worker.listener import Listener
from agentledger_worker.outcomes import Complete, Decision, Fail, from_exception
from agentledger_worker.reports import Reporter
from agentledger_worker.worker import Worker, is_async

log = logging.getLogger("agentledger.worker")

CLAIM_SQL = {
    "events": "SELECT c.*, now() AS db_now FROM api.claim_events(%s, %s, %s) c",
    "actions": "SELECT c.*, now() AS db_now FROM api.claim_actions(%s, %s, %s) c",
}
HEARTBEAT_SQL = "SELECT r.*, now() AS db_now FROM api.heartbeat_events(%s, %s) r"
# Only one worker at a time runs the maintenance pass: the rescue of expired leases, then the marking
# of missed deadlines. The others skip their turn (both are safe to run concurrently; this only saves
# the duplicate work). The key is any constant bigint of our own. The database records the principal
# the worker's login acts for, as a system step.
RESCUE_SQL = """WITH turn AS (SELECT pg_try_advisory_xact_lock(7418290561) AS mine)
                SELECT CASE WHEN mine THEN (SELECT count(*) FROM api.rescue_expired_leases(%(limit)s)) END AS rescued,
                       CASE WHEN mine THEN (SELECT count(*) FROM api.mark_deadline_breaches(%(limit)s)) END AS breaches
                  FROM turn"""
# Errors that mean this worker cannot work here at all: report them and stop.
FATAL = (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName)
STOPPED = object()  # what a handler call returns when the event is no longer this worker's


class WorkerStopped(Exception):
    """The worker cannot go on (the database refuses it); the message says why."""


class Held:
    """A claimed event while this worker holds it."""

    __slots__ = ("ctx", "deadline", "event", "finishing", "handler_task", "lost", "started", "task", "token")

    def __init__(self, event: Event, token: Any, deadline: float):
        self.event, self.token, self.deadline = event, token, deadline
        self.ctx: Context  # set by Runtime.start, right after the Held is made
        self.task: asyncio.Task[None] | None = None
        self.handler_task: asyncio.Future[Any] | None = None
        self.started = False  # a handler has started on it
        self.finishing = False  # its last report is on the way; it no longer takes a slot
        self.lost = False  # the lease is gone: report nothing more


class Runtime:
    def __init__(self, worker: Worker, dsn: str):
        self.worker, self.settings, self.name = worker, worker.settings, worker.name
        self.types = {"events": sorted(worker.decision_handlers), "actions": sorted(worker.action_handlers)}
        self.wanted = {kind: bool(types) for kind, types in self.types.items()}
        self.claims = ReconnectingConnection(dsn, "claims", self.name, self.settings.call_timeout)
        self.upkeep = ReconnectingConnection(dsn, "upkeep", self.name, self.settings.call_timeout)
        self.reporter = Reporter(
            ReconnectingConnection(dsn, "reports", self.name, self.settings.call_timeout),
            self.settings.flush_delay,
            self.settings.max_batch,
        )
        self.listener = Listener(
            dsn, self.name, self._on_work, self.settings.listen_check_interval, self.settings.listen_check_timeout
        )
        # Claimed ahead of the handlers, so they never wait for a claim's round trip (default: as many
        # as run at once).
        self.prefetch = self.settings.concurrency if self.settings.prefetch is None else self.settings.prefetch
        self.held: dict[int, Held] = {}
        self.lease_seconds = 30.0  # learnt from each claim
        self.counts: Counter[str] = Counter()
        self.state = "running"  # then "stopping" (first signal) or "aborting" (second)
        self.fatal: str | None = None  # why the database will take no more calls: the worker stops

    # --- lifecycle --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> int:
        self.loop = asyncio.get_running_loop()
        self.changed = asyncio.Event()
        self.aborted = asyncio.Event()
        self.slots = asyncio.Semaphore(self.settings.concurrency)
        self.threads = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix=f"agentledger-{self.name}")
        background = [
            asyncio.create_task(coro)
            for coro in (self.listener.run(), self.reporter.run(), self._upkeep(), self._progress())
        ]
        if stop is not None:
            background.append(asyncio.create_task(self._stop_when(stop)))
        log.info(
            "worker %s: deciding %s, acting on %s, concurrency %s, prefetch %s",
            self.name,
            ", ".join(self.types["events"]) or "nothing",
            ", ".join(self.types["actions"]) or "nothing",
            self.settings.concurrency,
            self.prefetch,
        )
        try:
            await self._claim_loop()
            await self._shutdown()
        finally:
            # After a WorkerStopped, handlers may still hold events: their leases run out and a
            # rescue frees them.
            for task in [*background, *(h.task for h in self.held.values() if h.task is not None)]:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.gather(self.claims.close(), self.upkeep.close(), self.reporter.connection.close())
            self.threads.shutdown(wait=False, cancel_futures=True)
        log.info("worker %s stopped: %s", self.name, self._summary())
        return 0 if self.state == "stopping" else 1

    def signal(self, signum: int) -> None:
        if self.state == "running":
            log.info("signal %s: stopping; a second signal aborts (what is held is released)", signum)
            self.request_stop()
        elif self.state == "stopping":
            log.warning("signal %s: aborting; releasing what is held", signum)
            self.state = "aborting"
            self.aborted.set()

    def _stop_for(self, why: str) -> None:
        """The database acts for nobody on this worker's login any more (its principal was
        deactivated, say): the claim loop stops the worker with this message."""
        if self.fatal is None:
            log.error("%s", why)
            self.fatal = why
        self.changed.set()

    def request_stop(self) -> None:
        if self.state == "running":
            self.state = "stopping"
            self.changed.set()

    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.request_stop()

    async def _shutdown(self) -> None:
        waiting = [h for h in self.held.values() if not h.started]
        running = [h for h in self.held.values() if h.started]
        log.info(
            "stopping: releasing %s waiting events; %s running get up to %ss to finish",
            len(waiting),
            len(running),
            self.settings.shutdown_timeout,
        )
        await self._cancel_and_release(waiting, "worker stopping")
        tasks = [h.task for h in running if h.task is not None]
        if tasks and self.state == "stopping":
            abort = asyncio.create_task(self.aborted.wait())
            await _wait_all_or(tasks, abort, self.settings.shutdown_timeout)
            abort.cancel()
        leftovers = list(self.held.values())
        if leftovers:
            log.warning("stopping: %s handlers did not finish in time; releasing their events", len(leftovers))
            await self._cancel_and_release(leftovers, "worker stopped before the handler finished")
        await self.reporter.drain()

    async def _cancel_and_release(self, held: list[Held], reason: str) -> None:
        for h in held:
            h.ctx.stopping.set()
            if h.task is not None:
                h.task.cancel()
        await asyncio.gather(*(h.task for h in held if h.task is not None), return_exceptions=True)
        await asyncio.gather(*(self._release(h, reason) for h in held if not h.finishing and not h.lost))

    # --- claiming ---------------------------------------------------------------------------

    def _on_work(self, message: dict[str, Any] | None) -> None:
        """A notification (or a reconnect): look for the kinds of work it announces."""
        for kind, key in (("events", "queued"), ("actions", "actions")):
            if not self.types[kind] or (message is not None and key not in message):
                continue
            announced = None if message is None else message[key]
            # No message, or a count too large to list ({"actions": null}): any type may have work.
            if not isinstance(announced, dict) or set(announced) & set(self.types[kind]):
                self.wanted[kind] = True
                # One notification covers the submits of the next throttle interval: look again then.
                self.loop.call_later(self.settings.renotify_delay, self._want, kind)
        self.changed.set()

    def _want(self, kind: str) -> None:
        self.wanted[kind] = True
        self.changed.set()

    def _room(self) -> int:
        """How many events to claim now: 0 until a claim is worth its round trip."""
        if self.reporter.pending >= 2 * self.settings.max_batch:
            return 0  # the database is behind with reports: claim nothing more until it catches up
        busy = waiting = 0
        for h in self.held.values():
            if not h.finishing:
                busy += 1
                waiting += not h.started
        room = self.settings.concurrency + self.prefetch - busy
        # Small claims cost a round trip and a transaction each: wait until half the room is free,
        # unless the handlers are about to run out of work.
        return room if waiting == 0 or room * 2 >= self.settings.concurrency + self.prefetch else 0

    async def _claim_loop(self) -> None:
        next_poll = time.monotonic() + self.settings.poll_interval
        while self.state == "running":
            if self.fatal is not None:
                raise WorkerStopped(self.fatal)
            if time.monotonic() >= next_poll:
                for wanted, types in self.types.items():
                    self.wanted[wanted] = bool(types)
                next_poll = time.monotonic() + self.settings.poll_interval
            room = self._room()
            kind = next((k for k in ("actions", "events") if self.wanted[k]), None) if room > 0 else None
            if kind is None:
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), max(0.0, next_poll - time.monotonic()))
                continue
            await self._claim(kind, min(room, self.settings.max_batch))

    async def _claim(self, kind: str, limit: int) -> None:
        self.wanted[kind] = False
        sent = time.monotonic()

        async def claim(conn: Connection) -> list[dict[str, Any]]:
            cursor = await conn.execute(CLAIM_SQL[kind], (self.name, limit, self.types[kind]), prepare=True)
            return await cursor.fetchall()

        try:
            rows = await self.claims.run(claim)
        except NotAPrincipal as exc:
            raise WorkerStopped(f"cannot claim {kind}: {exc}") from None
        except LOST:
            self.wanted[kind] = True  # the next attempt waits for the reconnect's back-off
            return
        except FATAL as exc:
            raise WorkerStopped(
                f"cannot claim {kind}: {exc.diag.message_primary} "
                f"(connect as a member of agentledger_worker to a deployed agentledger database)"
            ) from None
        except psycopg.Error as exc:
            log.error("claiming %s failed: %s; trying again at the next poll", kind, exc)
            return
        if len(rows) == limit:
            self.wanted[kind] = True  # there may be more
        if rows:
            first = rows[0]
            self.lease_seconds = (first["lease_expires_at"] - first["db_now"]).total_seconds()
            log.info(
                "claimed %s %s: %s", len(rows), "events to decide" if kind == "events" else "actions", _by_type(rows)
            )
        self.counts["claimed"] += len(rows)
        for row in rows:
            self._start(row, sent + (row["lease_expires_at"] - row["db_now"]).total_seconds())

    def _start(self, row: dict[str, Any], deadline: float) -> None:
        held = Held(Event.from_claim(row), row["lease_token"], deadline)
        held.ctx = Context(held.event, self.name, lambda decision: self._record_decision(held, decision), self.loop)
        held.task = asyncio.create_task(self._process(held), name=f"event {held.event.id}")
        self.held[held.event.id] = held

    # --- one event --------------------------------------------------------------------------

    async def _process(self, held: Held) -> None:
        event_type = held.event.event_type
        try:
            if not held.event.decided:
                outcome = await self._call(held, self.worker.decision_handlers[event_type])
                if outcome is STOPPED:
                    return
                if isinstance(outcome, Decision) and not held.event.decided:
                    acting_here = event_type in self.worker.action_handlers
                    if not await self._decide(held, outcome, keep_lease=acting_here) or not acting_here:
                        return
                    outcome = await self._call(held, self.worker.action_handlers[event_type])
                    if outcome is STOPPED:
                        return
            else:
                outcome = await self._call(held, self.worker.action_handlers[event_type])
                if outcome is STOPPED:
                    return
            await self._finish(held, outcome)
        except LeaseLost:
            pass
        except Exception:  # a fault of the runtime itself: the lease runs out and the rescue frees the event
            log.exception("event %s: could not be processed", held.event.id)
        finally:
            if self.held.get(held.event.id) is held:
                del self.held[held.event.id]
            self.changed.set()

    async def _call(self, held: Held, handler: Any) -> Any:
        """Run one handler on the event; its return value, a Fail for an exception, or STOPPED."""
        async with self.slots:
            if held.lost:
                return STOPPED
            if self.state != "running" and not held.started:
                await self._release(held, "worker stopping")
                return STOPPED
            held.started = True
            event, ctx = held.event, held.ctx
            log.debug(
                "event %s (%s): %s handler starts, attempt %s",
                event.id,
                event.event_type,
                "action" if event.decided else "decision",
                event.attempts,
            )
            try:
                if is_async(handler):
                    held.handler_task = asyncio.ensure_future(handler(event, ctx))
                    result = await held.handler_task
                else:
                    call = contextvars.copy_context().run
                    result = await self.loop.run_in_executor(self.threads, call, handler, event, ctx)
            except asyncio.CancelledError:
                if held.lost and not asyncio.current_task().cancelling():
                    return STOPPED  # we cancelled the handler: its lease is gone
                raise
            except LeaseLost:
                return STOPPED
            except Refused as exc:
                return Fail(str(exc), "agentledger.Refused", retryable=False)
            except Exception as exc:
                if held.lost:
                    return STOPPED
                log.warning(
                    "event %s (%s): handler raised %s: %s",
                    event.id,
                    event.event_type,
                    type(exc).__name__,
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                return from_exception(exc)
            finally:
                held.handler_task = None
        return STOPPED if held.lost else result

    async def _record_decision(self, held: Held, decision: Decision) -> Event:
        """ctx.decide(): the decision is recorded and the lease kept, or LeaseLost / Refused."""
        row = await self._report(held, "decide", decision.decision, decision.reason, decision.result, group=True)
        if row["outcome"] == "refused":
            if row["code"] == "AL009":
                self._lose(held, row["message"])
                raise LeaseLost(row["message"])
            raise Refused(row["code"], row["message"])
        if row["status"] == "in_review":
            self._sent_to_review(held, decision)
            raise SentToReview(f"event {held.event.id}: the {decision.decision} decision waits for reviewers")
        held.event = dataclasses.replace(
            held.event, status=decision.decision, result=decision.result, decision_reason=decision.reason, attempts=1
        )
        held.ctx.event = held.event
        self.counts[decision.decision] += 1
        return held.event

    async def _decide(self, held: Held, decision: Decision, keep_lease: bool) -> bool:
        """A decision handler's return value; True when recorded (and, with keep_lease, still held)."""
        if not keep_lease:
            held.finishing = True
            self.changed.set()
        try:
            if keep_lease:
                await self._record_decision(held, decision)
                return True
            row = await self._report(held, "decide", decision.decision, decision.reason, decision.result, group=False)
        except Refused as exc:
            await self._finish(held, Fail(str(exc), "agentledger.Refused", retryable=False))
            return False
        except LeaseLost:
            return False
        if row["outcome"] == "refused":
            await self._refused(held, "decide", row)
            return False
        if row["status"] == "in_review":
            self._sent_to_review(held, decision)
            return False
        self.counts[decision.decision] += 1
        log.debug("event %s: %s; its action is offered to action handlers", held.event.id, decision.decision)
        return True

    def _sent_to_review(self, held: Held, decision: Decision) -> None:
        """The decision became a proposal: people decide now, and the event is no longer held."""
        held.finishing = True
        self.counts["sent to review"] += 1
        log.info(
            "event %s (%s): the %s decision goes to review", held.event.id, held.event.event_type, decision.decision
        )

    async def _finish(self, held: Held, outcome: Any) -> None:
        """Report the last step of this worker's turn: complete, or fail (maybe to retry)."""
        if outcome is None and held.event.decided:
            outcome = Complete()
        if not isinstance(outcome, (Complete, Fail)):
            expected = "ctx.complete/fail/retry" if held.event.decided else "ctx.approve/reject/fail/retry"
            outcome = Fail(
                f"the handler returned {outcome!r}; it must return {expected}(...)", "TypeError", retryable=False
            )
        held.finishing = True
        self.changed.set()
        try:
            if isinstance(outcome, Complete):
                row = await self._report(held, "complete", outcome.details)
            else:
                row = await self._report(held, "fail", outcome.error, outcome.error_type, outcome.retryable)
        except Refused as exc:
            if isinstance(outcome, Fail):
                log.error("event %s: the failure report was refused: %s", held.event.id, exc)
                return
            return await self._finish(held, Fail(str(exc), "agentledger.Refused", retryable=False))
        if row["outcome"] == "refused":
            if isinstance(outcome, Complete):
                await self._refused(held, "complete", row)
            else:
                log.warning("event %s: failure not recorded: %s", held.event.id, row["message"])
            return
        kind = "completed" if isinstance(outcome, Complete) else ("failed" if row["status"] == "failed" else "retried")
        self.counts[kind] += 1
        if kind == "retried" and held.event.decided and held.event.event_type not in self.worker.action_handlers:
            log.warning(
                "event %s: its follow-up action goes back to the action queue, and this worker has no "
                "@worker.action(%r) to run it",
                held.event.id,
                held.event.event_type,
            )
        log.debug("event %s (%s): %s", held.event.id, held.event.event_type, kind)

    async def _refused(self, held: Held, step: str, row: dict[str, Any]) -> None:
        """A report refused for this event alone. With the lease still ours (a step the lifecycle
        does not allow here), fail the event with the database's message; otherwise it is gone."""
        if row["lease_expires_at"] is not None:
            await self._finish(
                held, Fail(f"{step} refused: {row['message']}", f"agentledger.{row['code']}", retryable=False)
            )
        else:
            self._lose(held, row["message"])

    async def _release(self, held: Held, reason: str) -> None:
        held.finishing = True
        try:
            row = await self._report(held, "release", group=reason)
        except Refused as exc:
            log.error("event %s: release refused: %s", held.event.id, exc)
            return
        if row["outcome"] != "refused":
            self.counts["released"] += 1
        log.debug("event %s released: %s", held.event.id, row["outcome"])

    async def _report(self, held: Held, step: str, *args: Any, group: Any = None) -> dict[str, Any]:
        for value in args:
            if isinstance(value, (dict, list)):
                try:
                    json.dumps(value)
                except (TypeError, ValueError) as exc:
                    raise Refused(None, f"{step}: the value is not JSON: {exc}") from None
        try:
            return await self.reporter.send(step, held.event.id, held.token, *args, group=group)
        except NotAPrincipal as exc:
            self._stop_for(f"cannot report on event {held.event.id}: {exc}")
            raise Refused("28000", str(exc)) from None
        except psycopg.Error as exc:
            diag = exc.diag
            text = diag.message_primary or str(exc)
            raise Refused(exc.sqlstate, text + (f" ({diag.message_hint})" if diag.message_hint else "")) from None

    def _lose(self, held: Held, why: str) -> None:
        if held.lost or held.finishing:
            return
        held.lost = True
        held.ctx.stopping.set()
        if held.handler_task is not None:
            held.handler_task.cancel()
        self.counts["lost"] += 1
        log.warning("event %s: lease lost (%s); the handler is told to stop", held.event.id, why)

    # --- upkeep -----------------------------------------------------------------------------

    async def _upkeep(self) -> None:
        """Heartbeats every third of the lease (or heartbeat_interval); the rescue every rescue_interval."""
        next_rescue = time.monotonic() + self.settings.rescue_interval
        while True:
            interval = self.settings.heartbeat_interval or max(0.2, self.lease_seconds / 3)
            await asyncio.sleep(min(interval, max(0.0, next_rescue - time.monotonic())))
            await self._heartbeat()
            if time.monotonic() >= next_rescue:
                await self._rescue()
                next_rescue = time.monotonic() + self.settings.rescue_interval

    async def _heartbeat(self) -> None:
        held = [h for h in self.held.values() if not h.lost and not h.finishing]
        for start in range(0, len(held), self.settings.max_batch):
            chunk = held[start : start + self.settings.max_batch]
            sent = time.monotonic()

            async def beat(conn: Connection, chunk: list[Held] = chunk) -> list[dict[str, Any]]:
                cursor = await conn.execute(HEARTBEAT_SQL, ([h.event.id for h in chunk], [h.token for h in chunk]))
                return await cursor.fetchall()

            try:
                rows = await self.upkeep.run(beat)
            except NotAPrincipal as exc:
                self._stop_for(f"cannot renew leases: {exc}")
                return
            except (*LOST, psycopg.Error) as exc:
                log.warning("heartbeat failed: %s", exc)
                for h in chunk:
                    if time.monotonic() >= h.deadline:
                        self._lose(h, "its lease ended while the database could not be reached")
                continue
            for h, row in zip(chunk, rows, strict=False):
                if row["outcome"] == "done":
                    h.deadline = sent + (row["lease_expires_at"] - row["db_now"]).total_seconds()
                elif self.held.get(h.event.id) is h:
                    self._lose(h, row["message"])

    async def _rescue(self) -> None:
        async def rescue(conn: Connection) -> dict[str, Any] | None:
            cursor = await conn.execute(RESCUE_SQL, {"limit": self.settings.max_batch})
            return await cursor.fetchone()

        try:
            row = await self.upkeep.run(rescue)
        except NotAPrincipal as exc:
            self._stop_for(f"cannot rescue expired leases: {exc}")
            return
        except (*LOST, psycopg.Error) as exc:
            log.warning("lease rescue failed: %s", exc)
            return
        if row is None:  # the statement always answers one row
            return
        if row["rescued"]:
            self.counts["rescued"] += row["rescued"]
            log.info("rescued %s events whose lease had expired", row["rescued"])
        if row["breaches"]:
            log.warning("%s events missed a deadline; escalated on %s", row["breaches"], ESCALATIONS_CHANNEL)

    async def _progress(self) -> None:
        last, last_at = 0, time.monotonic()
        while True:
            await asyncio.sleep(self.settings.progress_interval)
            done = sum(self.counts[k] for k in ("completed", "failed", "retried"))
            now = time.monotonic()
            if done != last or self.held:
                running = sum(1 for h in self.held.values() if h.started and not h.finishing)
                waiting = sum(1 for h in self.held.values() if not h.started)
                log.info(
                    "progress: %s finished (%.1f/s), %s running, %s claimed and waiting, %s",
                    done,
                    (done - last) / (now - last_at),
                    running,
                    waiting,
                    self._summary(),
                )
            last, last_at = done, now

    def _summary(self) -> str:
        keys = (
            "claimed",
            "approved",
            "rejected",
            "sent to review",
            "completed",
            "retried",
            "failed",
            "released",
            "lost",
            "rescued",
        )
        return ", ".join(f"{key} {self.counts[key]}" for key in keys if self.counts[key])


async def _wait_all_or(tasks: list[asyncio.Task[None]], abort: asyncio.Task[bool], timeout: float) -> None:
    """Until every task is done, abort finishes, or the timeout passes; cancels nothing."""
    deadline = time.monotonic() + timeout
    remaining = set(tasks)
    while remaining and not abort.done() and time.monotonic() < deadline:
        done, _ = await asyncio.wait(
            remaining | {abort}, timeout=deadline - time.monotonic(), return_when=asyncio.FIRST_COMPLETED
        )
        remaining -= done


def _by_type(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t} {n}" for t, n in sorted(Counter(r["event_type"] for r in rows).items()))
