"""The context a handler receives beside its event: how it says what happens next, whether it
should stop, and how it records a decision before running the follow-up action itself."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from agentledger_worker.event import Event
from agentledger_worker.outcomes import Complete, Decision, Fail, shorten


class LeaseLost(Exception):
    """The worker no longer holds the event: the lease expired and was rescued, or the worker is
    stopping. Nothing more may be reported on it; the handler should stop."""


class SentToReview(LeaseLost):
    """The decision was recorded as a proposal: the event's review policy sends it to people, and the
    follow-up action waits for their verdict. The handler should stop here."""


class Refused(Exception):
    """The database refused a step; `code` is its SQLSTATE."""

    def __init__(self, code: str | None, message: str):
        super().__init__(message)
        self.code = code


class Context:
    """Handed to every handler call with its event.

    Return one of `approve`, `reject` (from a decision handler), `complete`, `fail` or `retry`.
    Check `stopping` in long work: it is set when the lease is lost or the worker must stop now.
    """

    def __init__(
        self,
        event: Event,
        worker_name: str,
        record: Callable[[Decision], Awaitable[Event]],
        loop: asyncio.AbstractEventLoop,
    ):
        self.event = event
        self.worker_name = worker_name
        self.stopping = threading.Event()  # readable from async handlers and from threads alike
        self._log: logging.LoggerAdapter[logging.Logger] | None = None
        self._record = record
        self._loop = loop

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that names the event; made when first used."""
        if self._log is None:
            self._log = logging.LoggerAdapter(
                logging.getLogger("agentledger.worker.handler"),
                {"event_id": self.event.id, "event_type": self.event.event_type},
            )
        return self._log

    # What a handler returns.
    @staticmethod
    def approve(result: dict[str, Any] | None = None, reason: str | None = None) -> Decision:
        return Decision("approved", reason, result)

    @staticmethod
    def reject(reason: str | None = None, result: dict[str, Any] | None = None) -> Decision:
        return Decision("rejected", reason, result)

    @staticmethod
    def complete(details: dict[str, Any] | None = None) -> Complete:
        return Complete(details)

    @staticmethod
    def fail(error: str, error_type: str | None = None) -> Fail:
        """Fail for good: no retry."""
        return Fail(shorten(error), error_type, retryable=False)

    @staticmethod
    def retry(error: str, error_type: str | None = None) -> Fail:
        """Try again later, with back-off, while attempts remain."""
        return Fail(shorten(error), error_type, retryable=True)

    def decide(self, decision: Decision) -> Any:
        """Record the decision now, keeping the lease, then go on to run the follow-up action in the
        same handler and return `complete` (or `fail` / `retry`).

        `await ctx.decide(...)` in an async handler; `ctx.decide(...)` in a sync one, where it blocks.
        Raises LeaseLost or Refused when the decision was not recorded. Returns the event as decided.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return self._decide(decision)
        return asyncio.run_coroutine_threadsafe(self._decide(decision), self._loop).result()

    async def _decide(self, decision: Decision) -> Event:
        if not isinstance(decision, Decision):
            raise TypeError(f"ctx.decide takes ctx.approve(...) or ctx.reject(...), not {decision!r}")
        self.event = await self._record(decision)
        return self.event
