"""`agentledger stats`: how the queue is doing, from api.queue_stats().

Counts per event type and status, how long the longest-waiting runnable event has waited, decided
events awaiting their follow-up action, expired leases waiting for the rescue, and how full
PostgreSQL's notification queue is. `--json` prints the function's JSON as it is.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from agentledger.cli.common import cell, connected, db_url_parent, print_table
from agentledger.database import one

# Columns in lifecycle order; a status the database adds later gets a column after these.
STATUSES = ("queued", "processing", "approved", "rejected", "completed", "failed")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stats", parents=[db_url_parent()], help="queue statistics", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--json", action="store_true", help="print api.queue_stats() as one JSON object")
    p.set_defaults(handler=_stats, command_parser=p)


def _stats(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with connected(args, "agentledger stats") as conn:
        text = one(conn.execute("SELECT api.queue_stats() AS stats"))["stats"]
    if args.json:
        print(text)
        return 0
    stats = json.loads(text)
    _print_counts(stats["counts"])
    print()
    for label, value in _summary(stats):
        print(f"{label}: {value}")
    return 0


def _print_counts(counts: list[dict]) -> None:
    """A table of event types by status, with totals."""
    if not counts:
        print("no events yet")
        return
    statuses = list(STATUSES) + sorted({c["status"] for c in counts} - set(STATUSES))
    by_type: dict[str, dict[str, int]] = {}
    for c in counts:
        by_type.setdefault(c["event_type"], {})[c["status"]] = c["events"]
    rows: list[list[Any]] = [
        [name, *(by_type[name].get(s, 0) for s in statuses), sum(by_type[name].values())] for name in sorted(by_type)
    ]
    rows.append(["(all)", *(sum(row[i + 1] for row in rows) for i in range(len(statuses) + 1))])
    print_table(["TYPE", *(s.upper() for s in statuses), "TOTAL"], rows)


def _summary(stats: dict) -> list[tuple[str, str]]:
    oldest = stats["oldest_runnable_since"]
    if oldest is None:
        waited = "none waiting"
    else:
        since = cell(datetime.fromisoformat(oldest))
        waited = f"{_duration(float(stats['oldest_queued_age_seconds']))} (runnable since {since})"
    return [
        ("oldest runnable event has waited", waited),
        ("decided events awaiting their action", str(stats["decided_awaiting_action"])),
        ("expired leases waiting for the rescue", str(stats["leases_expired"])),
        ("notification queue usage", f"{float(stats['notification_queue_usage']):.2%}"),
    ]


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n)
