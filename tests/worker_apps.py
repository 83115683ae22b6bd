"""Workers that the worker tests run as real processes (`agentledger worker --app tests.worker_apps:NAME`).

Behaviour is set through the environment, so one definition serves several tests:
AGENTLEDGER_TEST_HANDLER_SECONDS  how long each decision takes (default 0)
"""

from __future__ import annotations

import asyncio
import os
import time

from agentledger_worker import Worker

SECONDS = float(os.environ.get("AGENTLEDGER_TEST_HANDLER_SECONDS", "0"))


def _quick(name: str) -> Worker:
    # No prefetch: the tests count exactly what the handlers hold.
    worker = Worker(
        name=os.environ.get("AGENTLEDGER_TEST_WORKER_NAME", name),
        concurrency=10,
        prefetch=0,
        poll_interval=0.5,
        rescue_interval=0.5,
        shutdown_timeout=5,
    )

    @worker.handler("loan_application")
    async def decide(event, ctx):
        if SECONDS:
            await asyncio.sleep(SECONDS)
        return ctx.approve(result={"by": worker.name})

    @worker.action("loan_application")
    async def act(event, ctx):
        return ctx.complete({"by": worker.name})

    return worker


# A worker that decides and completes loan applications, each decision taking SECONDS.
loans = _quick("loans")


# The same with sync handlers, which run in threads and cannot be interrupted.
sync_loans = Worker(name="sync-loans", concurrency=4, prefetch=0, poll_interval=0.5, shutdown_timeout=1)


@sync_loans.handler("loan_application")
def decide_slowly(event, ctx):
    time.sleep(SECONDS)
    return ctx.approve()


def _gc_probe(tune_gc: bool) -> Worker:
    worker = Worker(name="gc-probe", poll_interval=0.5, tune_gc=tune_gc)

    @worker.handler("loan_application")
    async def report_gc(event, ctx):
        import gc

        return ctx.approve(result={"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()})

    return worker


# Workers whose decision records the garbage collector's settings in the event's result.
gc_tuned = _gc_probe(True)
gc_untouched = _gc_probe(False)
