"""No submitted event waits longer than the workers' poll interval, with the NOTIFY throttled.

The worker here follows the protocol the README documents for workers: LISTEN on
agentledger_work; look for work on every notification, once more notify_throttle after it (a
notification covers the submits of the following throttle interval), and at least every poll
interval whatever happens.
"""

from __future__ import annotations

import random
import statistics
import threading
import time

import psycopg
import pytest

from agentledger_worker.channels import WORK_CHANNEL

pytestmark = pytest.mark.stress  # latency measured over many submits

POLL_INTERVAL = 1.0
THROTTLE = 0.05
SUBMITTERS = 2
SUBMITS_EACH = 150


class ReferenceWorker(threading.Thread):
    def __init__(self, conninfo: str) -> None:
        super().__init__(daemon=True)
        self.conninfo = conninfo
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        with (
            psycopg.connect(self.conninfo, autocommit=True) as listener,
            psycopg.connect(self.conninfo, autocommit=True) as reader,
        ):
            listener.execute(f"LISTEN {WORK_CHANNEL}")
            self.ready.set()
            next_poll, trailing = time.monotonic(), None
            while not self.stop.is_set():
                now = time.monotonic()
                wake_at = min(next_poll, trailing or next_poll)
                if list(listener.notifies(timeout=max(0.0, wake_at - now), stop_after=1)):
                    trailing = time.monotonic() + THROTTLE
                elif trailing is not None and time.monotonic() >= trailing:
                    trailing = None
                self.look(reader)
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + POLL_INTERVAL

    def look(self, reader: psycopg.Connection) -> None:
        # Reads every queued event each time: ids are handed out before commit, so a later id can
        # commit first and a "newer than the last id seen" cursor would skip the earlier one.
        after = 0
        while True:
            rows = reader.execute(
                "SELECT id FROM api.list_events(p_status => 'queued', p_after_id => %s, p_limit => 1000)",
                [after],
            ).fetchall()
            now = time.monotonic()
            for (event_id,) in rows:
                self.seen.setdefault(event_id, now)
            if len(rows) < 1000:
                return
            after = rows[-1][0]


def submit_for_a_while(conninfo: str, committed: dict[int, float]) -> None:
    rng = random.Random()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(SUBMITS_EACH):
            time.sleep(rng.uniform(0, 0.02))
            event_id = conn.execute("SELECT id FROM api.submit_event('c', 'loan_application', '{}')").fetchone()[0]
            committed[event_id] = time.monotonic()


def test_no_event_waits_longer_than_the_poll_interval(fresh_db: str, login_as) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute("UPDATE ledger.settings SET notify_throttle = %s * interval '1 second'", [THROTTLE])
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    worker = ReferenceWorker(worker_dsn)
    worker.start()
    assert worker.ready.wait(5)

    committed: dict[int, float] = {}
    submitters = [threading.Thread(target=submit_for_a_while, args=(worker_dsn, committed)) for _ in range(SUBMITTERS)]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    time.sleep(POLL_INTERVAL + 0.5)
    worker.stop.set()
    worker.join(5)

    assert set(committed) <= set(worker.seen), "every event was found"
    waits = [max(0.0, worker.seen[i] - committed[i]) for i in committed]
    assert max(waits) < POLL_INTERVAL, f"longest wait {max(waits):.3f} s"
    # The wake-ups, not the polls, find the work: most events are seen within a few throttle intervals.
    assert statistics.median(waits) < POLL_INTERVAL / 4, f"median wait {statistics.median(waits):.3f} s"
