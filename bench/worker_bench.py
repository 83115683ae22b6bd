#!/usr/bin/env python3
"""Throughput and wake-up latency of the worker runtime (agentledger_worker), end to end, next to
plain-PostgreSQL yardsticks measured in the same run on the same server.

What is measured:

  drain       --events (20,000) queued no-op events, submitted up front with api.submit_events in
              batches of 1,000, taken to `completed` by worker processes: the decision handler
              returns ctx.approve(), the action handler ctx.complete(); both are async and
              registered on the same worker, so the lease is kept from the decision to the action
              (claim, decide with p_keep_lease, complete: three audit rows per event). One cell per
              setting in --drain (processes x concurrency / prefetch); the default runs one process
              at concurrency 1 and 10 with prefetch 100 and 1,000, concurrency 10 with prefetch 0,
              and then two processes with the faster prefetch at concurrency 10. events/s = events
              / (last completion - first claim), both read from the audit trail's recorded_at
              (transaction start times on the database clock).
  latency     --latency-events (200) single submits (api.submit_event, one per transaction, from
              one connection), one every --latency-interval (50 ms, start to start), to a worker that
              is idle and LISTENing (Worker defaults: concurrency 10, prefetch 0). The decision
              handler records time.time() in its first line and returns it in the decision's
              result. Latency = handler start - the moment the submit call returned (its commit was
              done: the connection is in autocommit mode). Both processes run on this machine and
              read the same clock. --latency-warmup (10) events before them are not counted. A
              LISTEN connection of the script's own records which submits sent a NOTIFY and which
              the notify throttle (ledger.settings.notify_throttle, 50 ms) held back.
  yardsticks  from one Python connection (psycopg, prepared statements), in the same run:
              a plain single-row INSERT per transaction (the least a durable one-row write costs);
              a raw SKIP LOCKED queue on a plain table: claim --raw-batches rows with
              UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING id, then mark
              them done with UPDATE ... WHERE id = ANY(...), each statement its own transaction,
              over the same --events rows; and agentledger's own enqueue: api.submit_event one per
              transaction (--enqueue-events) and api.submit_events in batches of 1,000 (timed while
              each drain cell submits its events).

Every cell runs in a fresh clone of a sqitch-deployed template database, after VACUUM ANALYZE
(autovacuum is off on the benchmark server and is not relied on) and CHECKPOINT; a drain cell
submits its events first, then runs VACUUM ANALYZE and CHECKPOINT again before the workers start.

The workers are separate processes (this script with --worker-process, which builds a Worker and
calls Worker.run, as `agentledger worker --app` does), connected as a LOGIN role that is a member of
agentledger_worker, logging at info level as deployed. They import a copy of worker/agentledger_worker/ taken when the
run starts, so every cell runs the same code even if the working tree changes meanwhile. Each waits
for a go signal after its imports, so several start together. Inside them, the database calls of
each worker connection (claims, reports, upkeep) are counted and timed by wrapping
agentledger_worker.connection.ReconnectingConnection.run; the worker code itself is unchanged.

Each drain cell records: CPU of the worker processes and of their PostgreSQL backends, split by
connection (utime + stime from /proc; PostgreSQL must run on this machine), how busy the machine was
(/proc/stat), WAL flushes per event (pg_stat_wal, cluster-wide), claims and report flushes with
their mean sizes, and the wall time spent waiting for each kind of database call. It checks that
every event completed with exactly one claim, one decide and one complete audit row.

Shared machine: --wait-quiet waits before each cell for an idle CPU and no active backend in
another database; --rounds R runs the whole plan R times (interleaved) and reports each cell's
fastest round beside every round's rate. --profile runs drain cells once more with the first
worker process under py-spy (sampling, non-blocking) and prints where its CPU goes.

Output: progress lines on stderr, a `RESULT {json}` line per cell on stdout, then markdown tables
on stdout. All databases and the role are dropped at the end, also on errors, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import (
    CLK_TCK,
    FRAME,
    component,
    find_py_spy,
    machine_ticks,
    process_times,
    wait_until_quiet,
)
from submit_bench import (
    BATCH_SIZE,
    DEFAULT_ADMIN_URL,
    REPO_ROOT,
    Databases,
    batch_events,
    deploy_with_sqitch,
    log,
    map_login,
)

from agentledger_worker.channels import WORK_CHANNEL

EVENT_TYPE = "loan_application"
PAYLOAD = '{"amount": 25000}'
JOBS_DDL = [
    """CREATE TABLE public.jobs (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           status text NOT NULL DEFAULT 'queued',
           payload jsonb NOT NULL
       )""",
    "CREATE INDEX jobs_queued_idx ON public.jobs (id) WHERE status = 'queued'",
    """CREATE TABLE public.plain (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           customer_id text NOT NULL,
           type text NOT NULL,
           payload jsonb NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now()
       )""",
]
INSERT_SQL = "INSERT INTO public.plain (customer_id, type, payload) VALUES (%s, 'loan_application', %s::jsonb)"
SUBMIT_SQL = "SELECT id FROM api.submit_event(%s, 'loan_application', %s::jsonb)"
SUBMIT_BATCH_SQL = "SELECT count(*) FROM api.submit_events(%s::jsonb)"
RAW_CLAIM_SQL = (
    "UPDATE public.jobs SET status = 'running'"
    " WHERE id IN (SELECT id FROM public.jobs WHERE status = 'queued' ORDER BY id LIMIT %s"
    "              FOR UPDATE SKIP LOCKED) RETURNING id"
)
RAW_FINISH_SQL = "UPDATE public.jobs SET status = 'done' WHERE id = ANY(%s)"
STEPS = {"processing": "claim", "approved": "decide", "completed": "complete"}


# ---------------------------------------------------------------------------------------------
# The worker process (--worker-process): a Worker with no-op handlers, instrumented from outside


def worker_process(config: dict) -> int:
    """Builds the Worker, says ready, waits for "go" on stdin, runs until SIGTERM, and writes what
    it counted to config["stats"]."""
    import logging

    import agentledger_worker
    from agentledger_worker import Worker, connection

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    calls: dict[str, dict[str, float]] = {}
    original_run = connection.ReconnectingConnection.run

    async def timed_run(self, fn):  # wraps each database call of a worker connection
        started = time.perf_counter()
        entry = calls.setdefault(self.purpose, {"calls": 0, "seconds": 0.0, "rows": 0, "empty": 0})
        try:
            result = await original_run(self, fn)
        finally:
            entry["calls"] += 1
            entry["seconds"] += time.perf_counter() - started
        if isinstance(result, list):
            rows = sum(len(r) for r in result) if self.purpose == "reports" else len(result)
            entry["rows"] += rows
            entry["empty"] += rows == 0
        return result

    connection.ReconnectingConnection.run = timed_run
    worker = Worker(
        config["dsn"],
        name=config["name"],
        concurrency=config["concurrency"],
        prefetch=config["prefetch"],
        **config.get("settings", {}),
    )
    if config["mode"] == "latency":

        @worker.handler(EVENT_TYPE)
        async def decide(event, ctx):
            started = time.time()
            return ctx.approve(result={"handler_started": started})
    elif config["sync"]:

        @worker.handler(EVENT_TYPE)
        def decide(event, ctx):
            return ctx.approve()
    else:

        @worker.handler(EVENT_TYPE)
        async def decide(event, ctx):
            return ctx.approve()

    if config["sync"]:

        @worker.action(EVENT_TYPE)
        def act(event, ctx):
            return ctx.complete()
    else:

        @worker.action(EVENT_TYPE)
        async def act(event, ctx):
            return ctx.complete()

    print(f"ready {agentledger_worker.__file__}", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    code = worker.run()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(config["stats"]).write_text(
        json.dumps({"calls": calls, "exit": code, "user_s": usage.ru_utime, "sys_s": usage.ru_stime})
    )
    return code


class WorkerProcess:
    def __init__(self, workdir: Path, code: Path, config: dict):
        self.config = dict(config, stats=str(workdir / f"{config['name']}.json"))
        self.log_path = workdir / f"{config['name']}.log"
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(code), os.environ.get("PYTHONPATH", "")) if p)
        )
        with open(self.log_path, "w") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--worker-process", json.dumps(self.config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                env=env,
            )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"worker process did not start: {line!r} {self.log_tail()}")
        self.module = line.partition(" ")[2]

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            return json.loads(Path(self.config["stats"]).read_text())
        except (OSError, ValueError):
            return {}

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""


def snapshot_worker_code(workdir: Path) -> Path:
    """A copy of worker/agentledger_worker/, put first on the worker processes' PYTHONPATH."""
    code = workdir / "code"
    shutil.copytree(
        REPO_ROOT / "worker" / "agentledger_worker",
        code / "agentledger_worker",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return code


# ---------------------------------------------------------------------------------------------
# Cells


@dataclass
class DrainCell:
    processes: int
    concurrency: int
    prefetch: int | None  # None: the fastest prefetch measured so far at this concurrency
    sync: bool = False

    @property
    def label(self) -> str:
        prefetch = "best" if self.prefetch is None else str(self.prefetch)
        return (
            f"{self.processes} process{'es' if self.processes > 1 else ''}, concurrency "
            f"{self.concurrency}, prefetch {prefetch}" + (", sync handlers" if self.sync else "")
        )


@dataclass
class Drain:
    cell: DrainCell
    prefetch: int = 0
    events: int = 0
    seconds: float | None = None
    events_per_s: float | None = None
    wall_s: float | None = None  # go signal to the moment the poll saw every event completed
    enqueue_per_s: float | None = None  # api.submit_events, batches of 1,000, while setting up
    worker_cpu_s: float | None = None
    worker_sys_s: float | None = None  # the kernel's share of worker_cpu_s (socket calls, loopback TCP)
    backend_cpu_s: float | None = None
    backend_cpu_by_purpose: dict[str, float] = field(default_factory=dict)  # claims, reports, upkeep, listen
    machine_busy: float | None = None
    wal_flushes: int | None = None
    wal_bytes: int | None = None
    calls: dict = field(default_factory=dict)  # by connection purpose, summed over processes
    by_worker: dict[str, int] = field(default_factory=dict)
    verify: dict | None = None
    profile: dict | None = None
    quiet: dict = field(default_factory=dict)
    error: str | None = None

    def per_event_ms(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.events else seconds * 1000 / self.events


@dataclass
class Yardstick:
    key: str
    label: str
    n: int
    seconds: float | None = None
    per_s: float | None = None
    client_cpu_s: float | None = None
    backend_cpu_s: float | None = None
    quiet: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class Latency:
    events: int
    interval: float
    latencies_ms: list[float] = field(default_factory=list)  # handler start - submit returned
    from_call_ms: list[float] = field(default_factory=list)  # handler start - submit called
    submit_ms: list[float] = field(default_factory=list)  # the submit call itself
    notified: list[bool] = field(default_factory=list)  # whether the submit sent a NOTIFY (not throttled)
    quiet: dict = field(default_factory=dict)
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Helpers


class BenchDatabases(Databases):
    def __init__(self, admin_url: str) -> None:
        super().__init__(admin_url)
        self.prefix = f"agentledger_workerbench_{os.getpid()}"

    def build_template(self) -> str:
        name = self.prefix
        self.create(name)
        deploy_with_sqitch(self.admin_url, name)
        self.execute(name, *JOBS_DDL, "VACUUM ANALYZE")
        return name


def prepare_clone(dbs: BenchDatabases, template: str, args: argparse.Namespace) -> tuple[str, dict]:
    quiet = wait_until_quiet(args.admin_url, args.wait_quiet) if args.wait_quiet else {}
    if quiet and not quiet["quiet"]:
        log(
            f"  the machine stayed busy for {quiet['waited_s']:.0f} s (CPU {quiet['cpu_busy']:.0%} busy, "
            f"{quiet['other_active']} active backends in other databases); measuring anyway"
        )
    name = dbs.clone(template)
    settle(dbs, name)
    return name, quiet


def settle(dbs: BenchDatabases, name: str) -> None:
    dbs.execute(name, "VACUUM ANALYZE")
    dbs.execute(None, "CHECKPOINT")


def backend_ticks(conn: psycopg.Connection) -> int:
    times = process_times(conn.info.backend_pid)
    if times is None:
        raise RuntimeError("cannot read the backend's CPU time from /proc: is PostgreSQL on this machine?")
    return sum(times)


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wal_stats(conn: psycopg.Connection) -> tuple[int, int]:
    row = conn.execute("SELECT wal_bytes, wal_sync FROM pg_stat_wal").fetchone()
    return int(row[0]), int(row[1])


def submit_batches(dsn: str, n: int) -> float:
    """n queued events through api.submit_events, 1,000 per call; returns events/s."""
    body = json.dumps(batch_events(BATCH_SIZE))
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, n, BATCH_SIZE):
            size = min(BATCH_SIZE, n - start)
            conn.execute(
                SUBMIT_BATCH_SQL, (body if size == BATCH_SIZE else json.dumps(batch_events(size)),), prepare=True
            )
    return n / (time.perf_counter() - started)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-share * len(ordered) // 1)) - 1))]


# ---------------------------------------------------------------------------------------------
# Yardsticks


def run_yardstick(
    key: str, label: str, n: int, batch: int, dbs: BenchDatabases, template: str, args: argparse.Namespace
) -> Yardstick:
    result = Yardstick(key, label, n)
    name = None
    try:
        name, result.quiet = prepare_clone(dbs, template, args)
        if key.startswith("raw"):
            dbs.execute(
                name,
                f"INSERT INTO public.jobs (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, {n}) g",
            )
            settle(dbs, name)
        with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
            ticks0, cpu0 = backend_ticks(conn), self_cpu()
            started = time.perf_counter()
            if key == "insert":
                for i in range(n):
                    conn.execute(INSERT_SQL, (f"cust-{i}", PAYLOAD), prepare=True)
            elif key == "submit":
                for i in range(n):
                    conn.execute(SUBMIT_SQL, (f"cust-{i}", PAYLOAD), prepare=True)
            else:
                done = 0
                while done < n:
                    ids = [r[0] for r in conn.execute(RAW_CLAIM_SQL, (batch,), prepare=True)]
                    if not ids:
                        break
                    conn.execute(RAW_FINISH_SQL, (ids,), prepare=True)
                    done += len(ids)
                if done != n:
                    raise RuntimeError(f"the raw queue finished {done} of {n} rows")
            result.seconds = time.perf_counter() - started
            result.client_cpu_s = self_cpu() - cpu0
            result.backend_cpu_s = (backend_ticks(conn) - ticks0) / CLK_TCK
        result.per_s = n / result.seconds
    except (psycopg.Error, RuntimeError, OSError) as exc:
        result.error = str(exc).strip()
    finally:
        if name:
            dbs.drop(name)
    return result


# ---------------------------------------------------------------------------------------------
# Drain


def run_drain(
    cell: DrainCell,
    prefetch: int,
    dbs: BenchDatabases,
    template: str,
    login: str,
    code: Path,
    workdir: Path,
    args: argparse.Namespace,
    profile: bool = False,
) -> Drain:
    result = Drain(cell, prefetch=prefetch, events=args.events)
    name = None
    workers: list[WorkerProcess] = []
    profiler = None
    try:
        name, result.quiet = prepare_clone(dbs, template, args)
        result.enqueue_per_s = submit_batches(dbs.dsn(name), args.events)
        settle(dbs, name)
        dsn = make_conninfo(dbs.dsn(name), user=login)
        for i in range(cell.processes):
            workers.append(
                WorkerProcess(
                    workdir,
                    code,
                    {
                        "dsn": dsn,
                        "name": f"bench-worker-{i + 1}",
                        "mode": "drain",
                        "sync": cell.sync,
                        "concurrency": cell.concurrency,
                        "prefetch": prefetch,
                    },
                )
            )
        if profile:  # the first worker process only; py-spy ends when the process does
            profiler = start_profiler(args.py_spy, workers[0], workdir)
        with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
            wal0 = wal_stats(conn)
            cpu0 = {w.proc.pid: process_times(w.proc.pid) for w in workers}
            machine0 = machine_ticks()
            started = time.monotonic()
            for w in workers:
                w.go()
            deadline = started + args.drain_timeout
            last_report = started
            while True:
                time.sleep(0.1)
                done = conn.execute("SELECT count(*) FROM ledger.events WHERE status = 'completed'").fetchone()[0]
                if done >= args.events:
                    break
                dead = [w for w in workers if not w.alive()]
                if dead:
                    raise RuntimeError(f"a worker exited with {dead[0].proc.returncode}: {dead[0].log_tail()}")
                now = time.monotonic()
                if now > deadline:
                    raise RuntimeError(f"{done} of {args.events} events completed after {args.drain_timeout:.0f} s")
                if now - last_report >= 10:
                    log(f"  {done:,} of {args.events:,} completed after {now - started:.0f} s")
                    last_report = now
            result.wall_s = time.monotonic() - started
            machine1 = machine_ticks()
            cpu1 = {w.proc.pid: process_times(w.proc.pid) for w in workers}
            backends = conn.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name LIKE 'agentledger worker %%'"
            ).fetchall()
            # Each backend was started by the go signal: its whole CPU time belongs to the cell.
            for pid, application in backends:
                purpose = application.rpartition("(")[2].rstrip(")")
                seconds = sum(process_times(pid) or (0, 0)) / CLK_TCK
                result.backend_cpu_by_purpose[purpose] = result.backend_cpu_by_purpose.get(purpose, 0.0) + seconds
            result.backend_cpu_s = sum(result.backend_cpu_by_purpose.values())
            wal1 = wal_stats(conn)
            result.worker_cpu_s = sum(sum(cpu1[p]) - sum(cpu0[p]) for p in cpu0) / CLK_TCK
            result.worker_sys_s = sum(cpu1[p][1] - cpu0[p][1] for p in cpu0) / CLK_TCK
            busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
            result.machine_busy = busy / total if total else None
            result.wal_bytes, result.wal_flushes = wal1[0] - wal0[0], wal1[1] - wal0[1]
        for w in workers:
            stats = w.stop()
            if stats.get("exit") != 0:
                raise RuntimeError(f"{w.config['name']} stopped with {stats.get('exit')}: {w.log_tail()}")
            for purpose, entry in stats["calls"].items():
                total_entry = result.calls.setdefault(purpose, {"calls": 0, "seconds": 0.0, "rows": 0, "empty": 0})
                for k, v in entry.items():
                    total_entry[k] += v
        if profiler:
            result.profile = finish_profiler(profiler)
            profiler = None
        check_drain(dbs, name, result)
        if cell is args.verify_cell:
            result.verify = verify_audit(dbs, name)
    except (psycopg.Error, RuntimeError, OSError) as exc:
        result.error = str(exc).strip()
    finally:
        for w in workers:
            w.stop()
        if profiler:
            profiler[0].kill()
            profiler[0].wait()
        if name:
            dbs.drop(name)
    return result


def check_drain(dbs: BenchDatabases, name: str, result: Drain) -> None:
    """Every event completed with one claim, one decide and one complete audit row; the time from
    the first claim to the last completion, from the audit trail."""
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT to_status::text, count(*), count(DISTINCT event_id), min(recorded_at), max(recorded_at)"
            " FROM ledger.audit_log WHERE to_status IN ('processing', 'approved', 'completed') GROUP BY 1"
        ).fetchall()
        by_step = {STEPS[status]: (n, distinct, first, last) for status, n, distinct, first, last in rows}
        statuses = dict(conn.execute("SELECT status::text, count(*) FROM ledger.events GROUP BY 1").fetchall())
        result.by_worker = dict(
            conn.execute("SELECT changed_by, count(*) FROM ledger.events GROUP BY 1 ORDER BY 1").fetchall()
        )
    problems = []
    if statuses != {"completed": result.events}:
        problems.append(f"event statuses {statuses}, expected {result.events} completed")
    for step in STEPS.values():
        n, distinct, _, _ = by_step.get(step, (0, 0, None, None))
        if n != result.events or distinct != result.events:
            problems.append(f"{n} {step} audit rows for {distinct} events, expected {result.events}")
    if problems:
        raise RuntimeError("; ".join(problems))
    result.seconds = (by_step["complete"][3] - by_step["claim"][2]).total_seconds()
    result.events_per_s = result.events / result.seconds


def verify_audit(dbs: BenchDatabases, name: str) -> dict:
    started = time.monotonic()
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        cur = conn.execute("SELECT * FROM api.verify_audit()")
        verdict = dict(zip([c.name for c in cur.description], cur.fetchone(), strict=False))
    verdict["seconds"] = round(time.monotonic() - started, 1)
    if not verdict.get("ok"):
        raise RuntimeError(f"api.verify_audit() failed: {verdict}")
    return verdict


# ---------------------------------------------------------------------------------------------
# Profiling a drain cell with py-spy


def start_profiler(py_spy: str, worker: WorkerProcess, workdir: Path) -> tuple[subprocess.Popen, Path]:
    output = workdir / f"{worker.config['name']}.pyspy.txt"
    proc = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(worker.proc.pid),
            "--rate",
            "250",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # py-spy attaches
    return proc, output


def finish_profiler(profiler: tuple[subprocess.Popen, Path]) -> dict:
    proc, output = profiler
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("py-spy did not finish") from None
    if not output.exists():
        raise RuntimeError(f"py-spy failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return summarize_profile(output.read_text())


# Frames of the process's trunk: a sample whose innermost frame outside the standard library is one
# of these ran in asyncio's own loop (selector, scheduling, transports), not in code it called.
TRUNK = {"worker_process", "main", "<module>", "Worker.run", "Worker.run_async", "run", "run_async"}
EVENT_LOOP = "asyncio event loop (selectors, scheduling; no agentledger_worker or psycopg frame)"


def summarize_profile(raw: str) -> dict:
    """Shares of the samples (py-spy leaves idle threads out, so these are CPU, or waiting for a CPU).
    `self`: the innermost frame, C code counting to the Python frame that called it. `charged`: the
    innermost frame outside the standard library, so asyncio, json or logging work counts to the
    code that asked for it."""
    counters = {k: Counter() for k in ("self_by_function", "charged_by_package", "charged_by_function")}
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = []
        for frame in (f for f in stack.split(";") if f):
            match = FRAME.match(frame.strip())
            function, filename = (match.group("function"), match.group("file")) if match else (frame, "")
            frames.append((function, component(filename), filename))
        if not frames:
            continue
        count = int(count_text)
        total += count
        function, package, filename = frames[-1]
        counters["self_by_function"][f"{function} ({filename or package})"] += count
        owner = next(((f, p, n) for f, p, n in reversed(frames) if not p.startswith(("stdlib", "<"))), None)
        if owner is None or owner[0] in TRUNK:
            counters["charged_by_package"][EVENT_LOOP] += count
            counters["charged_by_function"][EVENT_LOOP] += count
        else:
            counters["charged_by_package"][owner[1]] += count
            counters["charged_by_function"][f"{owner[0]} ({owner[2] or owner[1]})"] += count
    return {
        "samples": total,
        **{k: [(name, round(n / total, 3)) for name, n in c.most_common(15)] for k, c in counters.items()},
    }


def profile_report(r: Drain) -> str:
    p = r.profile or {}
    out = [
        f"Profile: {r.cell.label.replace('best', str(r.prefetch))}, the worker process under py-spy "
        f"(250 Hz, non-blocking): {r.events_per_s or 0:,.0f} events/s under the profiler, worker CPU "
        f"{r.per_event_ms(r.worker_cpu_s) or 0:.3f} ms/event, {p.get('samples', 0)} samples."
    ]
    for key, title in (
        ("charged_by_package", "charged to (innermost frame outside the standard library)"),
        ("charged_by_function", "charged to function"),
        ("self_by_function", "self (innermost frame)"),
    ):
        out += ["", f"| {title} | share |", "|---|---:|"]
        out += [f"| {k} | {v:.1%} |" for k, v in p.get(key, [])]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Latency


def run_latency(
    dbs: BenchDatabases, template: str, login: str, code: Path, workdir: Path, args: argparse.Namespace
) -> Latency:
    result = Latency(args.latency_events, args.latency_interval)
    name = None
    worker = None
    try:
        name, result.quiet = prepare_clone(dbs, template, args)
        worker = WorkerProcess(
            workdir,
            code,
            {
                "dsn": make_conninfo(dbs.dsn(name), user=login),
                "name": "bench-latency",
                "mode": "latency",
                "sync": False,
                "concurrency": args.latency_concurrency,
                "prefetch": args.latency_prefetch,
            },
        )
        worker.go()
        with psycopg.connect(dbs.dsn(name), autocommit=True) as conn, NotifyRecorder(dbs.dsn(name)) as notifies:
            wait_for_listener(conn, worker)
            total = args.latency_warmup + args.latency_events
            submitted: list[tuple[int, float, float]] = []
            first = time.time()
            for i in range(total):
                time.sleep(max(0.0, first + i * args.latency_interval - time.time()))
                called = time.time()
                event_id = conn.execute(SUBMIT_SQL, (f"cust-{i}", PAYLOAD), prepare=True).fetchone()[0]
                returned = time.time()  # autocommit: the commit is done when the call returns
                submitted.append((event_id, called, returned))
            deadline = time.monotonic() + 30
            while conn.execute("SELECT count(*) FROM ledger.events WHERE status <> 'completed'").fetchone()[0]:
                if time.monotonic() > deadline or not worker.alive():
                    raise RuntimeError(f"the latency events did not complete: {worker.log_tail()}")
                time.sleep(0.1)
            started = dict(
                conn.execute("SELECT id, (result ->> 'handler_started')::float8 FROM ledger.events").fetchall()
            )
        stats = worker.stop()
        if stats.get("exit") != 0:
            raise RuntimeError(f"the worker stopped with {stats.get('exit')}: {worker.log_tail()}")
        # A submit notified if a notification arrived between its call and the next submit's.
        bounds = [called for _, called, _ in submitted[1:]] + [float("inf")]
        for (event_id, called, returned), until in list(zip(submitted, bounds, strict=False))[args.latency_warmup :]:
            result.latencies_ms.append((started[event_id] - returned) * 1000)
            result.from_call_ms.append((started[event_id] - called) * 1000)
            result.submit_ms.append((returned - called) * 1000)
            result.notified.append(any(called <= t < until for t in notifies.received))
    except (psycopg.Error, RuntimeError, OSError, KeyError) as exc:
        result.error = str(exc).strip() or type(exc).__name__
    finally:
        if worker:
            worker.stop()
        if name:
            dbs.drop(name)
    return result


class NotifyRecorder(threading.Thread):
    """LISTENs on the workers' channel and records when each notification arrived: which submits sent
    one, and which the notify throttle (ledger.settings.notify_throttle) held back."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute(f"LISTEN {WORK_CHANNEL}")
        self.received: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for _ in self.conn.notifies(timeout=0.2):
                self.received.append(time.time())

    def __enter__(self) -> NotifyRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.join()
        self.conn.close()


def wait_for_listener(conn: psycopg.Connection, worker: WorkerProcess, timeout: float = 20) -> None:
    """Until the worker's listen connection has run LISTEN and its first claims found nothing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listening = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE 'agentledger worker %%(listen)' AND query LIKE 'LISTEN%%'"
            " AND state = 'idle'"
        ).fetchone()[0]
        if listening:
            time.sleep(1.0)  # the first claims (actions, events) come back empty meanwhile
            return
        if not worker.alive():
            break
        time.sleep(0.1)
    raise RuntimeError(f"the worker did not start listening: {worker.log_tail()}")


# ---------------------------------------------------------------------------------------------
# Reporting


def fmt(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def drain_json(r: Drain, ratios: dict, round_no: int | None) -> str:
    return "RESULT " + json.dumps(
        {
            "kind": "drain",
            "round": round_no,
            "label": r.cell.label,
            "processes": r.cell.processes,
            "concurrency": r.cell.concurrency,
            "prefetch": r.prefetch,
            "sync_handlers": r.cell.sync,
            "events": r.events,
            "seconds": r.seconds,
            "events_per_s": r.events_per_s,
            "wall_s": r.wall_s,
            "ratios": ratios,
            "enqueue_batch_per_s": r.enqueue_per_s,
            "worker_cpu_s": r.worker_cpu_s,
            "worker_sys_s": r.worker_sys_s,
            "backend_cpu_s": r.backend_cpu_s,
            "backend_cpu_by_purpose": r.backend_cpu_by_purpose,
            "machine_busy": r.machine_busy,
            "wal_flushes": r.wal_flushes,
            "wal_bytes": r.wal_bytes,
            "calls": r.calls,
            "by_worker": r.by_worker,
            "verify_audit": r.verify,
            "quiet_wait": r.quiet,
            "error": r.error,
        },
        default=str,
    )


def drain_ratios(r: Drain, yardsticks: dict[str, Yardstick]) -> dict[str, float]:
    ratios = {}
    for key, y in yardsticks.items():
        if r.events_per_s and y.per_s and key != "submit":
            ratios[key] = round(r.events_per_s / y.per_s, 3)
    return ratios


def drain_line(index: int, total: int, r: Drain, ratios: dict) -> str:
    head = f"[{index}/{total}] drain, {r.cell.label.replace('best', str(r.prefetch))}: "
    if r.error:
        return head + "ERROR " + r.error
    claims, reports = r.calls.get("claims", {}), r.calls.get("reports", {})
    return head + (
        f"{r.events_per_s:,.0f} events/s over {r.seconds:.2f} s"
        + (" (" + ", ".join(f"{v:.2f}× {k}" for k, v in ratios.items()) + ")" if ratios else "")
        + "; "
        f"worker CPU {r.per_event_ms(r.worker_cpu_s):.3f} ms/event ({r.per_event_ms(r.worker_sys_s):.3f} kernel; "
        f"{r.worker_cpu_s / r.wall_s:.0%} of a core), "
        f"backends {r.per_event_ms(r.backend_cpu_s):.3f} ms/event (claims "
        f"{r.per_event_ms(r.backend_cpu_by_purpose.get('claims', 0)):.3f}, reports "
        f"{r.per_event_ms(r.backend_cpu_by_purpose.get('reports', 0)):.3f}), machine {r.machine_busy:.0%} busy; "
        f"{claims.get('calls', 0)} claims ({claims.get('empty', 0)} empty), "
        f"{reports.get('calls', 0)} report flushes ({reports.get('rows', 0) / max(1, reports.get('calls', 0)):.1f} "
        f"reports each); {r.wal_flushes / r.events:.3f} WAL flushes/event"
        + (f"; split {r.by_worker}" if r.cell.processes > 1 else "")
        + (f"; verify_audit ok over {r.verify['rows_checked']:,} rows" if r.verify else "")
    )


def yardstick_line(index: int, total: int, y: Yardstick) -> str:
    head = f"[{index}/{total}] {y.label}: "
    if y.error:
        return head + "ERROR " + y.error
    return head + (
        f"{y.per_s:,.0f}/s over {y.n:,} ({y.seconds:.2f} s); client CPU "
        f"{y.client_cpu_s * 1000 / y.n:.3f} ms, backend {y.backend_cpu_s * 1000 / y.n:.3f} ms per row"
    )


def rounds_text(values: list[float | None]) -> str:
    return ", ".join(f"{v:,.0f}" if v else "error" for v in values) if len(values) > 1 else ""


def drain_table(
    results: list[Drain], rounds: list[list[Drain]], yardsticks: dict[str, Yardstick], raw_key: str | None
) -> str:
    raw_label = yardsticks[raw_key].label if raw_key in yardsticks else "raw queue"
    rows = [
        f"| processes | concurrency | prefetch | events/s | every round | × {raw_label} | × INSERT 1/tx | seconds "
        "| worker CPU ms/event (of it kernel) | worker CPU, share of a core | PostgreSQL backend CPU ms/event "
        "| of it claims / reports connections | machine busy | claims (mean events per claim) | report transactions (mean reports each) "
        "| DB wait ms/event: claims / reports | WAL flushes/event (cluster-wide) |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---:|",
    ]
    for r, all_rounds in zip(results, rounds, strict=False):
        c = r.cell
        prefetch = f"{r.prefetch}" + (" (sync handlers)" if c.sync else "")
        spread = rounds_text([x.events_per_s for x in all_rounds])
        if r.error:
            rows.append(
                f"| {c.processes} | {c.concurrency} | {prefetch} | error: {r.error[:80]} | {spread} "
                "| | | | | | | | | | | | |"
            )
            continue
        ratios = drain_ratios(r, yardsticks)
        claims, reports = r.calls.get("claims", {}), r.calls.get("reports", {})
        claimed = claims.get("rows", 0)
        non_empty = claims.get("calls", 0) - claims.get("empty", 0)
        rows.append(
            f"| {c.processes} | {c.concurrency} | {prefetch} | {r.events_per_s:,.0f} | {spread} "
            f"| {fmt(ratios.get(raw_key), 2)} | {fmt(ratios.get('insert'), 2)} | {r.seconds:.2f} "
            f"| {r.per_event_ms(r.worker_cpu_s):.3f} ({r.per_event_ms(r.worker_sys_s):.3f}) "
            f"| {r.worker_cpu_s / r.wall_s / c.processes:.0%}"
            + (" each" if c.processes > 1 else "")
            + f" | {r.per_event_ms(r.backend_cpu_s):.3f} "
            f"| {r.per_event_ms(r.backend_cpu_by_purpose.get('claims', 0)):.3f} / "
            f"{r.per_event_ms(r.backend_cpu_by_purpose.get('reports', 0)):.3f} | {r.machine_busy:.0%} "
            f"| {claims.get('calls', 0):,} ({claimed / max(1, non_empty):.1f}) "
            f"| {reports.get('calls', 0):,} ({reports.get('rows', 0) / max(1, reports.get('calls', 0)):.1f}) "
            f"| {r.per_event_ms(claims.get('seconds')):.3f} / {r.per_event_ms(reports.get('seconds')):.3f} "
            f"| {r.wal_flushes / r.events:.3f} |"
        )
    return "\n".join(rows)


def yardstick_table(
    yardsticks: dict[str, Yardstick], rounds: dict[str, list[Yardstick]], enqueue_batch: float | None
) -> str:
    insert = yardsticks.get("insert")
    rows = [
        "| operation (one Python connection) | rows or events | per second | every round | × INSERT 1/tx "
        "| client CPU ms each | backend CPU ms each |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for key, y in yardsticks.items():
        spread = rounds_text([x.per_s for x in rounds[key]])
        if y.error:
            rows.append(f"| {y.label} | {y.n:,} | error: {y.error[:80]} | {spread} | | | |")
            continue
        ratio = f"{y.per_s / insert.per_s:.2f}" if insert and insert.per_s and y is not insert else "—"
        rows.append(
            f"| {y.label} | {y.n:,} | {y.per_s:,.0f} | {spread} | {ratio} | {y.client_cpu_s * 1000 / y.n:.3f} "
            f"| {y.backend_cpu_s * 1000 / y.n:.3f} |"
        )
    if enqueue_batch:
        rows.append(
            f"| api.submit_events, 1,000 per call (median over the drain cells' setup) | {BATCH_SIZE:,} per call "
            f"| {enqueue_batch:,.0f} | | | | |"
        )
    return "\n".join(rows)


def latency_table(r: Latency, args: argparse.Namespace) -> str:
    rows = [
        "| measured from | events | median ms | p95 ms | p99 ms | max ms | min ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    if r.error:
        return "\n".join([*rows, f"| error: {r.error[:120]} | | | | | | |"])
    sent = [v for v, n in zip(r.latencies_ms, r.notified, strict=False) if n]
    held = [v for v, n in zip(r.latencies_ms, r.notified, strict=False) if not n]
    for label, values in (
        ("the submit call returned (commit done)", r.latencies_ms),
        ("the submit call started", r.from_call_ms),
        ("(the submit call itself)", r.submit_ms),
        ("submit returned, submits that sent a NOTIFY", sent),
        ("submit returned, submits the throttle kept from notifying", held),
    ):
        if not values:
            rows.append(f"| {label} | 0 | | | | | |")
            continue
        rows.append(
            f"| {label} | {len(values)} | {statistics.median(values):.2f} | {percentile(values, 0.95):.2f} "
            f"| {percentile(values, 0.99):.2f} | {max(values):.2f} | {min(values):.2f} |"
        )
    return "\n".join(rows)


def latency_json(r: Latency, round_no: int) -> str:
    summary = {}
    if r.latencies_ms:
        summary = {
            "median_ms": statistics.median(r.latencies_ms),
            "p95_ms": percentile(r.latencies_ms, 0.95),
            "p99_ms": percentile(r.latencies_ms, 0.99),
            "max_ms": max(r.latencies_ms),
            "min_ms": min(r.latencies_ms),
            "from_call_median_ms": statistics.median(r.from_call_ms),
            "submit_median_ms": statistics.median(r.submit_ms),
            "throttled": sum(1 for n in r.notified if not n),
        }
    return "RESULT " + json.dumps(
        {
            "kind": "latency",
            "round": round_no,
            "events": r.events,
            "interval_s": r.interval,
            **summary,
            "latencies_ms": [round(v, 3) for v in r.latencies_ms],
            "quiet_wait": r.quiet,
            "error": r.error,
        }
    )


def code_state() -> str:
    """The commit, and for worker/ and db/ (what the run measures) whether they differ from it, with a
    digest of their files to tell runs apart."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    parts = []
    for folder in ("worker", "db"):
        if not git("status", "--porcelain", "--", folder):
            parts.append(f"{folder}/ as committed")
            continue
        digest = hashlib.sha256()
        for path in sorted(p for p in (REPO_ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
        parts.append(f"{folder}/ with uncommitted changes (sha256 of its files {digest.hexdigest()[:12]})")
    return f"commit {commit}: " + ", ".join(parts)


def describe_server(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "autovacuum", "synchronous_commit", "shared_buffers")
        }
    return (
        ", ".join(f"{k}={v}" for k, v in settings.items())
        + f"; {os.cpu_count()} CPUs shared by the workers, the script and the server; Python "
        + ".".join(map(str, sys.version_info[:3]))
        + f", psycopg {psycopg.__version__}"
    )


# ---------------------------------------------------------------------------------------------
# Main


def drain_list(text: str) -> list[DrainCell]:
    """PROCESSESxCONCURRENCY/PREFETCH[s],... ; PREFETCH "best" takes the fastest measured before at
    that concurrency; a trailing s runs sync handlers (in the worker's thread pool)."""
    cells = []
    for item in text.split(","):
        item = item.strip()
        sync = item.endswith("s") and not item.endswith("best")
        if sync:
            item = item[:-1]
        try:
            left, prefetch = item.split("/")
            processes, concurrency = left.split("x")
            cells.append(
                DrainCell(int(processes), int(concurrency), None if prefetch == "best" else int(prefetch), sync)
            )
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected PROCESSESxCONCURRENCY/PREFETCH, e.g. 1x10/100"
            ) from None
    return cells


def int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure the agentledger worker runtime end to end: drain throughput (events/s) of worker "
        "processes and enqueue-to-handler latency, next to plain-PostgreSQL yardsticks measured "
        "in the same run. Run from the repository root; takes a few minutes."
    )
    parser.add_argument(
        "--events",
        type=int,
        default=20_000,
        help="events per drain cell, and rows of the raw-queue yardstick (default %(default)s)",
    )
    parser.add_argument(
        "--drain",
        type=drain_list,
        default=drain_list("1x1/100,1x1/1000,1x10/100,1x10/1000,1x10/0,2x10/best"),
        help="drain cells as PROCESSESxCONCURRENCY/PREFETCH, comma-separated; PREFETCH 'best' "
        "is the fastest measured before at that concurrency; a trailing 's' uses sync "
        "handlers (default 1x1/100,1x1/1000,1x10/100,1x10/1000,1x10/0,2x10/best)",
    )
    parser.add_argument(
        "--raw-batches",
        type=int_list,
        default=[100, 1],
        help="batch sizes of the raw SKIP LOCKED yardstick; the first is the drain ratio's denominator (default 100,1)",
    )
    parser.add_argument(
        "--raw-batch1-rows", type=int, default=2_000, help="rows for raw batch 1, which is slow (default %(default)s)"
    )
    parser.add_argument(
        "--insert-rows", type=int, default=10_000, help="rows of the single-row INSERT yardstick (default %(default)s)"
    )
    parser.add_argument(
        "--enqueue-events",
        type=int,
        default=5_000,
        help="api.submit_event calls, one per transaction (default %(default)s; 0 skips)",
    )
    parser.add_argument("--latency-events", type=int, default=200, help="measured events (default %(default)s)")
    parser.add_argument(
        "--latency-warmup", type=int, default=10, help="events submitted first and not counted (default %(default)s)"
    )
    parser.add_argument(
        "--latency-interval", type=float, default=0.05, help="seconds between submit starts (default %(default)s)"
    )
    parser.add_argument("--latency-concurrency", type=int, default=10, help="(default %(default)s, as Worker)")
    parser.add_argument("--latency-prefetch", type=int, default=0, help="(default %(default)s, as Worker)")
    parser.add_argument(
        "--profile",
        type=drain_list,
        default=[],
        help="drain cells (as in --drain) to run once more with the first worker process under "
        "py-spy, printing where its CPU goes; their rates are not in the table",
    )
    parser.add_argument(
        "--py-spy",
        default=find_py_spy(),
        help="py-spy executable for --profile (default: beside the venv's python, else on PATH)",
    )
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds before a drain cell fails")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the whole plan this many times and report each cell's fastest round, with "
        "every round's rate (default %(default)s)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip api.verify_audit() after the last drain cell")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=5,
        help="before each cell wait up to this many seconds for an idle machine (shared "
        "servers); 0 does not wait (default %(default)s)",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AGENTLEDGER_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="superuser URL (env AGENTLEDGER_BENCH_ADMIN_URL; default %(default)s)",
    )
    parser.add_argument("--worker-process", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_process:
        return args
    if (
        min(args.events, args.insert_rows, args.latency_events, args.raw_batch1_rows, args.rounds) < 1
        or args.latency_warmup < 0
        or not args.drain
    ):
        parser.error("counts must be positive")
    if args.profile and not (args.py_spy and Path(args.py_spy).exists()):
        parser.error("--profile needs py-spy: pip install py-spy, and pass --py-spy PATH unless it is on PATH")
    for cell in args.drain + args.profile:
        if cell.processes < 1 or cell.concurrency < 1 or (cell.prefetch is not None and cell.prefetch < 0):
            parser.error(f"bad drain cell {cell.label}")
    return args


def run(args: argparse.Namespace, dbs: BenchDatabases, roles: list[str]) -> int:
    run_started = time.monotonic()
    state = code_state()
    log(f"server: {describe_server(args.admin_url)}; {state}")
    login = f"agentledger_workerbench_{os.getpid()}"
    dbs.execute(None, sql.SQL("CREATE ROLE {} LOGIN IN ROLE agentledger_worker").format(sql.Identifier(login)))
    roles.append(login)
    template = dbs.build_template()
    map_login(args.admin_url, template, login, "bench-worker")
    log(f"deployed template database {template} with sqitch; workers connect as {login}")

    plan = [("insert", "INSERT 1/tx", args.insert_rows, 1)]
    for batch in args.raw_batches:
        plan.append(
            (
                f"raw:{batch}",
                f"raw SKIP LOCKED, batch {batch}",
                args.raw_batch1_rows if batch == 1 else args.events,
                batch,
            )
        )
    if args.enqueue_events:
        plan.append(("submit", "api.submit_event 1/tx", args.enqueue_events, 1))
    total = (len(plan) + len(args.drain) + 1) * args.rounds + len(args.profile)
    index = 0
    yard_rounds: dict[str, list[Yardstick]] = {key: [] for key, *_ in plan}
    drain_rounds: list[list[Drain]] = [[] for _ in args.drain]
    latencies: list[Latency] = []
    profiles: list[Drain] = []
    best_prefetch: dict[int, Drain] = {}  # the fastest one-process cell at each concurrency so far
    with tempfile.TemporaryDirectory(prefix="agentledger_workerbench_") as tmp:
        workdir = Path(tmp)
        code = snapshot_worker_code(workdir)
        # Each round runs the whole plan, so a burst of outside load hits different cells each time.
        for round_no in range(1, args.rounds + 1):
            args.verify_cell = None if args.no_verify or round_no < args.rounds else args.drain[-1]
            yardsticks: dict[str, Yardstick] = {}
            for key, label, n, batch in plan:
                index += 1
                y = run_yardstick(key, label, n, batch, dbs, template, args)
                yardsticks[key] = y
                yard_rounds[key].append(y)
                log(yardstick_line(index, total, y))
                print(
                    "RESULT "
                    + json.dumps(
                        {
                            "kind": "yardstick",
                            "round": round_no,
                            "key": key,
                            "label": label,
                            "n": n,
                            "per_s": y.per_s,
                            "seconds": y.seconds,
                            "client_cpu_s": y.client_cpu_s,
                            "backend_cpu_s": y.backend_cpu_s,
                            "quiet_wait": y.quiet,
                            "error": y.error,
                        }
                    ),
                    flush=True,
                )
            for i, cell in enumerate(args.drain):
                index += 1
                r = run_drain(cell, resolve_prefetch(cell, best_prefetch), dbs, template, login, code, workdir, args)
                drain_rounds[i].append(r)
                if (
                    r.events_per_s
                    and cell.processes == 1
                    and not cell.sync
                    and (
                        cell.concurrency not in best_prefetch
                        or r.events_per_s > best_prefetch[cell.concurrency].events_per_s
                    )
                ):
                    best_prefetch[cell.concurrency] = r
                ratios = drain_ratios(r, yardsticks)
                log(drain_line(index, total, r, ratios))
                print(drain_json(r, ratios, round_no), flush=True)
            index += 1
            latency = run_latency(dbs, template, login, code, workdir, args)
            latencies.append(latency)
            if latency.error:
                log(f"[{index}/{total}] latency: ERROR {latency.error}")
            else:
                log(
                    f"[{index}/{total}] latency over {len(latency.latencies_ms)} events: median "
                    f"{statistics.median(latency.latencies_ms):.2f} ms, p95 "
                    f"{percentile(latency.latencies_ms, 0.95):.2f} ms, max {max(latency.latencies_ms):.2f} ms; "
                    f"{latency.notified.count(False)} submits sent no NOTIFY (throttled)"
                )
            print(latency_json(latency, round_no), flush=True)
        for cell in args.profile:
            index += 1
            r = run_drain(
                cell, resolve_prefetch(cell, best_prefetch), dbs, template, login, code, workdir, args, profile=True
            )
            profiles.append(r)
            log(drain_line(index, total, r, {}).replace("] drain,", "] profile,"))
            print(drain_json(r, {}, None).replace('"kind": "drain"', '"kind": "profile"', 1), flush=True)
            if r.profile:
                print("RESULT " + json.dumps({"kind": "profile_samples", "label": cell.label, **r.profile}), flush=True)

    best_yard = {key: best_of(rs, lambda y: y.per_s) for key, rs in yard_rounds.items()}
    best_drains = [best_of(rs, lambda d: d.events_per_s) for rs in drain_rounds]
    ok_latencies = [x for x in latencies if not x.error]
    latency = min(ok_latencies, key=lambda x: statistics.median(x.latencies_ms)) if ok_latencies else latencies[-1]
    enqueue = [r.enqueue_per_s for rs in drain_rounds for r in rs if r.enqueue_per_s]
    raw_key = f"raw:{args.raw_batches[0]}"
    print()
    print(f"# agentledger worker runtime, {datetime.date.today().isoformat()}")
    print()
    print(
        f"{describe_server(args.admin_url)}; {state}. Every cell ran in a fresh clone of a sqitch-deployed "
        "template after VACUUM ANALYZE and CHECKPOINT (autovacuum is off); a drain cell submitted its events, "
        "then ran VACUUM ANALYZE and CHECKPOINT again before its workers started. "
        + (
            f"Best of {args.rounds} rounds per cell, every round's rate beside it; ratios compare best to best. "
            if args.rounds > 1
            else ""
        )
        + f"Whole run {time.monotonic() - run_started:.0f} s."
    )
    print()
    print(
        f"Drain: {args.events:,} no-op events per cell (async handlers: ctx.approve(), then ctx.complete() under "
        "the kept lease), worker processes connected as a member of agentledger_worker, flush_delay and the "
        "other settings at their defaults; events/s from the first claim to the last completion."
    )
    print()
    print(drain_table(best_drains, drain_rounds, best_yard, raw_key))
    print()
    print("Yardsticks and enqueue, same run:")
    print()
    print(yardstick_table(best_yard, yard_rounds, statistics.median(enqueue) if enqueue else None))
    print()
    print(
        f"Latency: {latency.events} events, one api.submit_event per transaction every "
        f"{latency.interval * 1000:.0f} ms (start to start) after {args.latency_warmup} unmeasured ones, to one "
        f"idle worker process (concurrency {args.latency_concurrency}, prefetch {args.latency_prefetch}); "
        "handler start = time.time() in the handler's first line"
        + (
            "; the round with the lowest median (medians of all rounds: "
            + ", ".join(f"{statistics.median(x.latencies_ms):.2f}" for x in ok_latencies)
            + " ms)"
            if len(latencies) > 1
            else ""
        )
        + "."
    )
    print()
    print(latency_table(latency, args))
    for r in profiles:
        print()
        print(profile_report(r) if not r.error else f"Profile {r.cell.label}: error {r.error}")
    everything = [
        *(y for rs in yard_rounds.values() for y in rs),
        *(d for rs in drain_rounds for d in rs),
        *latencies,
        *profiles,
    ]
    return 1 if any(x.error for x in everything) else 0


def resolve_prefetch(cell: DrainCell, best: dict[int, Drain]) -> int:
    if cell.prefetch is not None:
        return cell.prefetch
    return best[cell.concurrency].prefetch if cell.concurrency in best else 0


def best_of(results: list, rate) -> object:
    """The fastest round: on a shared machine, the least disturbed one (else the last error)."""
    ok = [r for r in results if not r.error and rate(r)]
    return max(ok, key=rate) if ok else results[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker_process:
        return worker_process(json.loads(args.worker_process))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dbs = BenchDatabases(args.admin_url)
    roles: list[str] = []
    try:
        return run(args, dbs, roles)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        dbs.drop_all()
        for role in roles:
            try:
                dbs.execute(None, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            except psycopg.Error as exc:
                log(f"could not drop role {role}: {exc}")
        log("dropped the benchmark databases and role")


if __name__ == "__main__":
    sys.exit(main())
