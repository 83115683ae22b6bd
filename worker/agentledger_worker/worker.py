"""Worker: what a user configures — the database, a name, how much runs at once, and the handlers.

    worker = Worker(dsn, name="underwriter-1", concurrency=10)

    @worker.handler("loan_application")        # decides: approve / reject, or fail / retry
    async def underwrite(event, ctx): ...

    @worker.action("loan_application")         # runs the follow-up action of a decided event
    def disburse(event, ctx): ...              # sync handlers run in a thread pool

`worker.run()` runs until SIGTERM or SIGINT and returns the exit code. The name labels this worker
instance on its claims; the actor of its steps is the principal its database login acts for.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[..., object]


@dataclass
class WorkerSettings:
    """How a worker runs; every value has a default that suits a few workers per database."""

    concurrency: int = 10  # handlers running at once
    prefetch: int | None = None  # claimed events that may wait for a free handler; default: concurrency
    poll_interval: float = 2.0  # look for work at least this often, notification or not
    flush_delay: float = 0.002  # how long a report waits for others to share its transaction
    heartbeat_interval: float | None = None  # default: a third of the lease
    shutdown_timeout: float = 25.0  # on SIGTERM, how long running handlers may finish
    rescue_interval: float = 5.0  # how often expired leases are rescued (one worker at a time)
    progress_interval: float = 5.0  # a progress line at most this often, when busy
    listen_check_interval: float = 5.0  # a quiet LISTEN connection is checked this often
    listen_check_timeout: float = 5.0
    call_timeout: float = 30.0  # a database call not answered by then is given up and its connection dropped
    max_batch: int = 1000  # most events per claim or report (ledger.settings.max_batch_size)
    renotify_delay: float = 0.05  # look again this long after a notification (ledger.settings.notify_throttle)
    # worker.run() owns its process: it exempts what startup made from garbage collection and lets
    # Python's cycle collector run less often (GC_THRESHOLDS). A busy worker allocates a few objects
    # per event, and the collector's default rhythm took about a quarter of its CPU. run_async(),
    # which runs inside someone else's process, never changes the collector.
    tune_gc: bool = True


# Collect the youngest generation after 20,000 net allocations instead of 700; the older ones as usual.
GC_THRESHOLDS = (20_000, 20, 100)


class Worker:
    def __init__(self, dsn: str | None = None, *, name: str | None = None, **settings: object):
        self.dsn = dsn
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        unknown = set(settings) - set(WorkerSettings.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown worker settings: {', '.join(sorted(unknown))}")
        self.settings = WorkerSettings(**settings)  # type: ignore[arg-type]
        _check_settings(self.settings)
        self.decision_handlers: dict[str, Handler] = {}
        self.action_handlers: dict[str, Handler] = {}

    def handler(self, *event_types: str) -> Callable[[Handler], Handler]:
        """Register a decision handler: it gets events to decide (status processing)."""
        return self._register(self.decision_handlers, event_types, "handler")

    def action(self, *event_types: str) -> Callable[[Handler], Handler]:
        """Register the follow-up action of decided events (approved or rejected) of these types."""
        return self._register(self.action_handlers, event_types, "action")

    def _register(
        self, table: dict[str, Handler], event_types: tuple[str, ...], kind: str
    ) -> Callable[[Handler], Handler]:
        if not event_types or not all(isinstance(t, str) and t for t in event_types):
            raise TypeError(f"@worker.{kind}(...) takes one or more event type names")

        def register(fn: Handler) -> Handler:
            if not callable(fn):
                raise TypeError(f"@worker.{kind} decorates a function, not {fn!r}")
            for event_type in event_types:
                if event_type in table:
                    raise ValueError(f"event type {event_type!r} already has a {kind}: {table[event_type]!r}")
                table[event_type] = fn
            return fn

        return register

    def run(self, dsn: str | None = None) -> int:
        """Run until SIGTERM/SIGINT: 0 after a graceful stop, 1 when a second signal aborted it.
        The process is the worker's: with tune_gc (the default), the garbage collector is tuned first."""
        if self.settings.tune_gc:
            gc.freeze()  # what exists now (modules, handlers, settings) lives as long as the process
            gc.set_threshold(*GC_THRESHOLDS)
        return asyncio.run(self.run_async(dsn))

    async def run_async(self, dsn: str | None = None, stop: asyncio.Event | None = None) -> int:
        """Run in the current event loop until `stop` is set or a signal arrives."""
        from agentledger_worker.runtime import Runtime

        target = dsn or self.dsn or os.environ.get("DATABASE_URL")
        if not target:
            raise ValueError("no database: pass dsn to Worker(...) or set DATABASE_URL")
        if not self.decision_handlers and not self.action_handlers:
            raise ValueError("no handlers: register one with @worker.handler(event_type) or @worker.action(event_type)")
        runtime = Runtime(self, target)
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, runtime.signal, sig)
        try:
            return await runtime.run(stop)
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)


def is_async(fn: Handler) -> bool:
    # A function, or an object whose __call__ is a coroutine function.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _check_settings(settings: WorkerSettings) -> None:
    if settings.concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if settings.prefetch is not None and settings.prefetch < 0:
        raise ValueError("prefetch must be 0 or more")
    for name in (
        "poll_interval",
        "rescue_interval",
        "progress_interval",
        "listen_check_interval",
        "listen_check_timeout",
        "call_timeout",
    ):
        if getattr(settings, name) <= 0:
            raise ValueError(f"{name} must be more than 0 seconds")
    if settings.flush_delay < 0 or settings.shutdown_timeout < 0 or settings.renotify_delay < 0:
        raise ValueError("flush_delay, shutdown_timeout and renotify_delay must be 0 or more")
    if settings.heartbeat_interval is not None and settings.heartbeat_interval <= 0:
        raise ValueError("heartbeat_interval must be more than 0 seconds")
    if not 1 <= settings.max_batch <= 1000:
        raise ValueError("max_batch must be between 1 and 1000")
