"""`agentledger worker`: run a worker process — the handlers of an application, or the examples.

    agentledger worker --app mymodule:worker      # a Worker defined in mymodule
    agentledger worker --example                  # the example banking agents

It connects as a member of agentledger_worker ($DATABASE_URL or --db-url) whose login acts for a
principal (`agentledger principals add NAME --kind agent --login LOGIN`): the database records that
principal as the actor of the worker's steps. It stops cleanly on SIGTERM or SIGINT: exit 0, or 1
when a second signal aborted it or the database refused it (a login that acts for no principal is
refused at the first claim).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from agentledger import database
from agentledger.errors import AgentledgerError, UsageError

if TYPE_CHECKING:  # imported when a worker runs, not for every command
    from agentledger_worker import Worker

EXAMPLE_APP = "agentledger_examples.agents:worker"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("worker", help="run a worker process", description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--app", metavar="MODULE:NAME", help="the Worker to run, e.g. myagents.fraud:worker")
    source.add_argument("--example", action="store_true", help="run the example agents (loans, fraud, support)")
    p.add_argument("--db-url", metavar="URL", help=f"database, as a worker role (default: ${database.ENV_VAR})")
    p.add_argument(
        "--name",
        help="the name of this worker instance, recorded with its claims; the actor is the principal of its "
        "login (default: the app's, or host-pid)",
    )
    p.add_argument("--concurrency", type=_positive, help="handlers running at once (default: the app's, or 10)")
    p.add_argument("--prefetch", type=_not_negative, help="claimed events that may wait for a free handler")
    p.add_argument("--poll-interval", type=_seconds, help="look for work at least this often, in seconds (default 2)")
    p.add_argument(
        "--shutdown-timeout",
        type=_not_negative_seconds,
        help="seconds running handlers get to finish after SIGTERM (default 25)",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("AGENTLEDGER_LOG_LEVEL", "info"),
        choices=("debug", "info", "warning", "error"),
        help="default: $AGENTLEDGER_LOG_LEVEL or info",
    )
    p.set_defaults(handler=_run, command_parser=p)


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    worker = load_app(EXAMPLE_APP if args.example else args.app)
    for option, setting in (
        ("concurrency", "concurrency"),
        ("prefetch", "prefetch"),
        ("poll_interval", "poll_interval"),
        ("shutdown_timeout", "shutdown_timeout"),
    ):
        value = getattr(args, option)
        if value is not None:
            setattr(worker.settings, setting, value)
    if args.name:
        worker.name = args.name
    dsn = database.resolve_url(args.db_url) if (args.db_url or not worker.dsn) else worker.dsn

    from agentledger_worker.runtime import WorkerStopped

    try:
        code = worker.run(dsn)
    except WorkerStopped as exc:
        raise AgentledgerError(str(exc)) from None
    if any(t.name.startswith("agentledger-") and t.is_alive() for t in threading.enumerate()):
        # A sync handler still runs in its thread (it cannot be interrupted) and its event was
        # released: exit now rather than wait for it at interpreter exit.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def load_app(spec: str) -> Worker:
    """The Worker named by MODULE:NAME (NAME may also be a function returning one)."""
    from agentledger_worker import Worker

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--app takes MODULE:NAME, e.g. myagents:worker, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: apps in the working directory load
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from None
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no {attr!r}") from None
    if callable(app) and not isinstance(app, Worker):
        app = app()
    if not isinstance(app, Worker):
        raise UsageError(f"{spec} is a {type(app).__name__}, not an agentledger_worker.Worker")
    return app


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _not_negative_seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 seconds or more")
    return value
