#!/usr/bin/env python3
"""Throughput and latency of the HTTP API, next to the same calls made straight to the database.

What is measured, at 1, 8 and 32 connections (--connections):

  POST /events          one event per request, through `agentledger serve --processes N`
                        (N = 1 and 2, --processes), load from wrk (a Lua script sets the method,
                        body and key; every request is the same valid event)
  GET /events/{id}      one event read per request, ids drawn at random from the preloaded ones
  direct                the database call each endpoint makes, from pgbench at the same client
                        count, as the same login role: SELECT * FROM api.submit_event(...) with
                        the API's arguments, and SELECT * FROM api.get_event(:id)

For every cell: requests (transactions) per second, p50 and p99 latency, the ratio HTTP/direct at
the same connection count, and CPU per request: of the API server processes (utime + stime from
/proc/<pid>/stat of the server and its processes, before and after the measured run, divided by
the requests), of the benchmark database's PostgreSQL backends (also from /proc: PostgreSQL runs
on this machine), of the load generator (wrk or pgbench, from getrusage of reaped children), and
the rest of the machine's busy CPU (/proc/stat): the kernel's loopback networking in softirq,
PostgreSQL's background processes, and anything else running.

Method: a template database is deployed once with sqitch, preloaded with --preload events
(through api.submit_events), given a worker API key (api.create_api_key, as superuser) and
VACUUM ANALYZEd (autovacuum may be off). Every cell runs in a fresh clone, after VACUUM ANALYZE,
CHECKPOINT and --warmup seconds of unmeasured load of the same kind; an HTTP cell starts its own
server on the clone (connected as a LOGIN role in agentledger_api, request budget off,
AGENTLEDGER_POOL_MIN_SIZE = MAX_SIZE = ceil(max connections / N) per process, unless --pool-size)
and stops it afterwards. Before each cell the script waits (up to --wait-quiet seconds) for an idle
machine, as the PostgreSQL server may be shared, and it reports other databases' active backends
seen during the cell. The server, the load generator and PostgreSQL share the machine's CPUs:
that is the point of measuring N = 1 against N = 2. All databases, the login role and every
server process are removed at the end, also on errors and Ctrl-C. Nothing here asserts on timings.
With --rounds R every cell runs R times (round after round) and the table shows the fastest round
of each, with every round's rate beside it: other work on a shared machine only slows a cell down.

--profile post:1,post:8 (any OP:CONNECTIONS) runs more HTTP cells with one server process under
py-spy (sampling, non-blocking) and prints where the server's time goes, by package and function.
py-spy samples a thread while it runs or waits for a CPU: on a saturated machine the send() that
wakes a PostgreSQL backend is where the server is often preempted, so that line grows with load.

Output: a progress line per cell on stderr, a `RESULT {json}` line per cell on stdout, and a
markdown table at the end on stdout (then the profile, if asked for).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from submit_bench import Databases, client_env, client_list, deploy_with_sqitch, find_pgbench

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
KEY_NAME = "bench-worker"
EVENT = {"customer_id": "cust-42", "event_type": "loan_application", "payload": {"amount": 25000}}
QUIET_CPU_SHARE = 0.2  # the machine counts as idle below this share of busy CPU
OPERATIONS = {"post": "POST /events", "get": "GET /events/{id}"}

# What the API sends for POST /events with a worker key (api/routes/events.py): the same arguments.
PGBENCH_POST = (
    "SELECT * FROM api.submit_event('cust-42', 'loan_application', '{{\"amount\": 25000}}'::jsonb, "
    "0, NULL, NULL, NULL, NULL, p_key => '{key}');\n"
)
PGBENCH_GET = "\\set id random({lo}, {hi})\nSELECT * FROM api.get_event(:id, '{key}');\n"

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "status_errors": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""
LUA_POST = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""
# Requests are made in init(), 1,000 per thread, and cycled: building one per call costs wrk CPU.
LUA_GET = """
wrk.headers["Authorization"] = "Bearer {key}"
local requests_, n_ = {{}}, 0
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  for i = 1, 1000 do
    requests_[i] = wrk.format("GET", "/events/" .. math.random({lo}, {hi}))
  end
end
request = function()
  n_ = n_ % 1000 + 1
  return requests_[n_]
end
"""


@dataclass
class Cell:
    operation: str  # "post" or "get"
    connections: int
    processes: int = 0  # 0: direct (pgbench)
    profile: bool = False

    @property
    def path(self) -> str:
        return "direct" if self.processes == 0 else "http"

    @property
    def label(self) -> str:
        if self.processes == 0:
            return "direct (pgbench): " + ("api.submit_event" if self.operation == "post" else "api.get_event")
        return f"HTTP {OPERATIONS[self.operation]}, {self.processes} process(es)" + (
            ", under py-spy" if self.profile else ""
        )


@dataclass
class Result:
    cell: Cell
    requests_per_s: float | None = None
    requests: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    server_cpu_ms: float | None = None  # per request
    server_user_ms: float | None = None  # per request, the user-mode part (Python, C extensions)
    loadgen_cpu_ms: float | None = None  # per request
    backend_cpu_ms: float | None = None  # per request: the benchmark database's PostgreSQL backends
    rest_cpu_ms: float | None = None  # per request: the machine's busy CPU minus the three above
    machine_busy: float | None = None  # share of all CPUs busy during the measured run
    rows_written: int | None = None
    http_errors: dict[str, int] = field(default_factory=dict)
    other_active: int = 0  # most active backends of other databases seen during the run
    quiet: dict = field(default_factory=dict)
    pool_size: int | None = None
    connections_per_process: list[int] = field(default_factory=list)
    profile: dict | None = None
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# CPU accounting


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - values[3] - values[4], total


def process_times(pid: int) -> tuple[int, int] | None:
    """(utime, stime) of a live process (all its threads), in clock ticks."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)


def process_ticks(pid: int) -> int | None:
    """utime + stime of a live process, in clock ticks."""
    times = process_times(pid)
    return None if times is None else sum(times)


def process_tree(root: int) -> list[int]:
    """root and its descendants, found through the parent ids in /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU of the server processes, of reaped children (the load generator) and of the machine,
    between start() and stop()."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids

    def start(self) -> None:
        self.server0 = {pid: process_times(pid) for pid in self.server_pids}
        self.children0 = children_cpu_seconds()
        self.machine0 = machine_ticks()

    def stop(self) -> None:
        machine1 = machine_ticks()
        self.loadgen_s = children_cpu_seconds() - self.children0
        after = {pid: process_times(pid) for pid in self.server_pids}
        missing = [pid for pid, t in after.items() if t is None or self.server0.get(pid) is None]
        if missing:
            raise RuntimeError(f"server process(es) {missing} ended during the measurement")
        self.server_user_s = sum(after[p][0] - self.server0[p][0] for p in self.server_pids) / CLK_TCK
        self.server_sys_s = sum(after[p][1] - self.server0[p][1] for p in self.server_pids) / CLK_TCK
        self.server_s = self.server_user_s + self.server_sys_s
        busy, total = machine1[0] - self.machine0[0], machine1[1] - self.machine0[1]
        self.machine_s = busy / CLK_TCK
        self.busy_share = busy / total if total else None


# ---------------------------------------------------------------------------------------------
# Waiting for a quiet machine, and watching for other load during a cell


def cpu_busy_share(seconds: float = 1.0) -> float:
    b0, t0 = machine_ticks()
    time.sleep(seconds)
    b1, t1 = machine_ticks()
    return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


OTHER_ACTIVE_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'"
    " AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM %s"
)


def wait_until_quiet(admin_url: str, limit: float) -> dict:
    started = time.monotonic()
    while True:
        busy = cpu_busy_share()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            others = conn.execute(OTHER_ACTIVE_SQL, (None,)).fetchone()[0]
        waited = time.monotonic() - started
        quiet = busy < QUIET_CPU_SHARE and others == 0
        if quiet or waited >= limit:
            return {"waited_s": round(waited, 1), "cpu_busy": round(busy, 2), "other_active": others, "quiet": quiet}


class DatabaseWatcher(threading.Thread):
    """While a cell runs, five times a second: the CPU of the benchmark database's backends (from
    /proc, as PostgreSQL runs on this machine), and the most active backends of other databases.
    A backend's CPU counts from the start (a backend started since then counts from zero, as a new
    process does); one that exits counts as last seen, at most 0.2 s short."""

    QUERY = (
        "SELECT pid, datname = %s FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " AND pid <> pg_backend_pid() AND (datname = %s OR state = 'active')"
    )

    def __init__(self, admin_url: str, dbname: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.dbname = admin_url, dbname
        self.most_other_active = 0
        self.baseline: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.stop_event = threading.Event()
        self.visible = True  # False if the backends' /proc entries cannot be read (a remote server)
        self.conn = psycopg.connect(admin_url, autocommit=True)
        for pid in self._own_backends():
            ticks = process_ticks(pid)
            if ticks is None:
                self.visible = False
            else:
                self.baseline[pid] = self.last[pid] = ticks

    def _own_backends(self) -> list[int]:
        rows = self.conn.execute(self.QUERY, (self.dbname, self.dbname)).fetchall()
        self.most_other_active = max(self.most_other_active, sum(1 for _, own in rows if not own))
        return [pid for pid, own in rows if own]

    def _sample(self) -> None:
        for pid in self._own_backends():
            ticks = process_ticks(pid)
            if ticks is not None:
                self.last[pid] = ticks

    def run(self) -> None:
        try:
            while not self.stop_event.wait(0.2):
                self._sample()
        except psycopg.Error:
            self.visible = False

    def __enter__(self) -> DatabaseWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.join()
        try:
            self._sample()
        except psycopg.Error:
            self.visible = False
        self.conn.close()

    def backend_seconds(self) -> float | None:
        if not self.visible:
            return None
        return sum(ticks - self.baseline.get(pid, 0) for pid, ticks in self.last.items()) / CLK_TCK


def connections_per_process(pids: list[int], port: int) -> list[int]:
    """Established TCP connections on the server's port held by each process: how the shared
    listening socket spread wrk's connections over the server processes."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # ESTABLISHED, local port
            inodes.add(parts[9])
    counts = []
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        counts.append(sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes))
    return counts


class ConnectionSampler(threading.Thread):
    """connections_per_process, once, a moment after wrk has connected."""

    def __init__(self, pids: list[int], port: int, after: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.port, self.after = pids, port, after
        self.counts: list[int] = []

    def run(self) -> None:
        time.sleep(self.after)
        with contextlib.suppress(OSError):
            self.counts = [c for c in connections_per_process(self.pids, self.port)]


# ---------------------------------------------------------------------------------------------
# The API server


class Server:
    """`agentledger serve --processes N` on a free port, in its own session (Ctrl-C on the terminal
    reaches only this script, which stops the server with SIGTERM)."""

    def __init__(self, dsn: str, processes: int, pool_size: int, log_level: str, workdir: Path, code: Path) -> None:
        self.log_path = workdir / f"server-{time.monotonic_ns()}.log"
        # PYTHONPATH: the snapshot of the code taken when the run started (see snapshot_code).
        python_path = os.pathsep.join(p for p in (str(code), os.environ.get("PYTHONPATH", "")) if p)
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "AGENTLEDGER_REQUESTS_PER_MINUTE_PER_KEY": "0",
            "AGENTLEDGER_POOL_MIN_SIZE": str(pool_size),
            "AGENTLEDGER_POOL_MAX_SIZE": str(pool_size),
            "AGENTLEDGER_LOG_LEVEL": log_level,
            "PYTHONPATH": python_path,
        }
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115  (the server writes to it; closed on stop)
        # cwd: the server reads a .env file in its working directory; the benchmark's must not.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentledger",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--processes",
                str(processes),
            ],
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=self.log_file,
            start_new_session=True,
        )
        self.pids: list[int] = [self.proc.pid]
        self.port: int | None = None

    def wait_ready(self, processes: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.port is None:
            match = re.search(rb"serving http://127\.0\.0\.1:(\d+) ", self.log_path.read_bytes())
            if match:
                self.port = int(match.group(1))
                break
            self._check_alive(deadline)
            time.sleep(0.05)
        while True:  # every process must be up: readyz answers from one of them
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200 and len(self.server_pids()) >= processes:
                        return
            except (urllib.error.URLError, OSError):
                pass
            self._check_alive(deadline)
            time.sleep(0.1)

    def _check_alive(self, deadline: float) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"the server exited with {self.proc.returncode}: {self.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not become ready: {self.log_tail()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def server_pids(self) -> list[int]:
        """The supervisor (or single process) and its server processes: all counted as server CPU."""
        self.pids = sorted(set(self.pids) | set(process_tree(self.proc.pid)))
        return [pid for pid in self.pids if process_ticks(pid) is not None]

    def log_tail(self) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return " | ".join(line for line in text if '"method"' not in line)[-2000:] or "(no output)"

    def stop(self) -> None:
        """SIGTERM, a graceful wait, then SIGKILL: only to the processes this server started."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.pids:  # server processes of a supervisor that was killed
            if pid != self.proc.pid and process_ticks(pid) is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.log_file.close()


# ---------------------------------------------------------------------------------------------
# Load generators


def run_wrk(args: argparse.Namespace, script: Path, url: str, connections: int, seconds: int) -> dict:
    threads = min(connections, args.wrk_threads)
    completed = subprocess.run(
        [
            args.wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            f"--script={script}",
            url,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    match = re.search(r"^WRKJSON (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or not match:
        raise RuntimeError(f"wrk exited with {completed.returncode}: {(completed.stdout + completed.stderr)[-800:]}")
    return json.loads(match.group(1))


def run_pgbench(
    args: argparse.Namespace, script: Path, dsn: str, clients: int, seconds: int, log_dir: Path | None = None
) -> str:
    command = [
        args.pgbench,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={min(clients, os.cpu_count() or 1)}",
        f"--time={seconds}",
        f"--file={script}",
    ]
    if log_dir is not None:
        command += ["--log", f"--log-prefix={log_dir / 'pgbench_log'}"]
    completed = subprocess.run(
        [*command, dsn],
        env=client_env(args.admin_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0 or "aborted" in output:
        problems = [line for line in output.splitlines() if "error" in line.lower() or "abort" in line.lower()]
        raise RuntimeError(
            f"pgbench exited with {completed.returncode}: " + " | ".join(problems[:5] or output.splitlines()[-5:])
        )
    return output


def pgbench_latencies_us(log_dir: Path) -> list[int]:
    """Per-transaction latencies from pgbench --log files: `client tx latency_us script epoch us`."""
    latencies = []
    for path in log_dir.glob("pgbench_log*"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                latencies.append(int(parts[2]))
    return latencies


def percentile(sorted_values: list[int], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# ---------------------------------------------------------------------------------------------
# Cells


@dataclass
class Setup:
    """What every cell needs: the template, the login role, the key, the preloaded ids."""

    template: str
    login: str
    key: str
    id_range: tuple[int, int]
    workdir: Path
    code: Path  # the snapshot of agentledger and agentledger_api the servers import


def snapshot_code(workdir: Path) -> Path:
    """Copies of agentledger/ and api/agentledger_api/ taken now, put first on the servers'
    PYTHONPATH: every cell of a run serves the same code, even if the working tree changes meanwhile
    (the editable install's finder comes after PYTHONPATH)."""
    code = workdir / "code"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "agentledger", code / "agentledger", ignore=ignore)
    shutil.copytree(REPO_ROOT / "api" / "agentledger_api", code / "agentledger_api", ignore=ignore)
    return code


def run_cell(cell: Cell, dbs: Databases, setup: Setup, args: argparse.Namespace, servers: list[Server]) -> Result:
    result = Result(cell)
    if args.wait_quiet:
        result.quiet = wait_until_quiet(args.admin_url, args.wait_quiet)
        if not result.quiet["quiet"]:
            log(
                f"  the machine stayed busy for {result.quiet['waited_s']:.0f} s (CPU "
                f"{result.quiet['cpu_busy']:.0%} busy, {result.quiet['other_active']} active backends in other "
                "databases); measuring anyway"
            )
    name = dbs.clone(setup.template)
    try:
        dbs.execute(name, "VACUUM ANALYZE")
        dbs.execute(None, "CHECKPOINT")
        dsn = make_conninfo(dbs.dsn(name), user=setup.login)
        if cell.processes == 0:
            run_direct(cell, result, dbs, name, dsn, setup, args)
        else:
            run_http(cell, result, dbs, name, dsn, setup, args, servers)
    except (psycopg.Error, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        result.error = str(exc).strip()
    finally:
        dbs.drop(name)
    return result


def count_events(dbs: Databases, name: str) -> int:
    return int(dbs.scalar(name, "SELECT count(*) FROM ledger.events"))


def settled_count(dbs: Databases, name: str, timeout: float = 10.0) -> int:
    """The event count once it stops changing: requests a load generator left in flight finish
    on the server after it has stopped counting them."""
    deadline = time.monotonic() + timeout
    count = count_events(dbs, name)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        again = count_events(dbs, name)
        if again == count:
            break
        count = again
    return count


def run_direct(
    cell: Cell, result: Result, dbs: Databases, name: str, dsn: str, setup: Setup, args: argparse.Namespace
) -> None:
    with tempfile.TemporaryDirectory(dir=setup.workdir) as tmp:
        script = Path(tmp) / "script.sql"
        lo, hi = setup.id_range
        # The key in a file of a private temporary folder, as the API holds it: never on a command line.
        post, get = PGBENCH_POST.format(key=setup.key), PGBENCH_GET.format(lo=lo, hi=hi, key=setup.key)
        script.write_text(post if cell.operation == "post" else get)
        if args.warmup:
            run_pgbench(args, script, dsn, cell.connections, args.warmup)
        before = count_events(dbs, name)
        meter = CpuMeter([])
        with DatabaseWatcher(args.admin_url, name) as watcher:
            meter.start()
            output = run_pgbench(args, script, dsn, cell.connections, args.seconds, Path(tmp))
            meter.stop()
        result.other_active = watcher.most_other_active
        meter.backend_s = watcher.backend_seconds()
        latencies = sorted(pgbench_latencies_us(Path(tmp)))
    processed = int(re.search(r"^number of transactions actually processed: (\d+)", output, re.MULTILINE).group(1))
    result.requests_per_s = float(re.search(r"^tps = ([\d.]+)", output, re.MULTILINE).group(1))
    result.requests = processed
    if len(latencies) != processed:
        raise RuntimeError(f"pgbench logged {len(latencies)} transactions and reported {processed}")
    result.p50_ms, result.p99_ms = percentile(latencies, 50) / 1000, percentile(latencies, 99) / 1000
    result.mean_ms = statistics.fmean(latencies) / 1000
    fill_cpu(result, meter, processed)
    if cell.operation == "post":
        result.rows_written = count_events(dbs, name) - before
        if result.rows_written != processed:
            raise RuntimeError(
                f"pgbench reported {processed} submits, the database holds {result.rows_written} new events"
            )


def run_http(
    cell: Cell,
    result: Result,
    dbs: Databases,
    name: str,
    dsn: str,
    setup: Setup,
    args: argparse.Namespace,
    servers: list[Server],
) -> None:
    pool = args.pool_size or math.ceil(max(args.connections) / cell.processes)
    result.pool_size = pool
    lua = Path(setup.workdir) / f"{cell.operation}.lua"
    lo, hi = setup.id_range
    if cell.operation == "post":
        lua.write_text(LUA_POST.format(body=json.dumps(EVENT, separators=(",", ":")), key=setup.key) + LUA_DONE)
        url_path = "/events"
    else:
        lua.write_text(LUA_GET.format(key=setup.key, lo=lo, hi=hi) + LUA_DONE)
        url_path = f"/events/{lo}"  # the script's request() replaces it
    server = Server(dsn, cell.processes, pool, args.log_level, setup.workdir, setup.code)
    servers.append(server)
    try:
        server.wait_ready(cell.processes)
        if args.warmup:  # fills the pool, the key cache and each connection's prepared statements
            warm = run_wrk(args, lua, server.url + url_path, cell.connections, args.warmup)
            if warm["requests"] == 0 or warm["status_errors"]:
                raise RuntimeError(f"warm-up failed: {warm}; server log: {server.log_tail()}")
        before = settled_count(dbs, name)  # the warm-up's last requests may still be committing
        pids = server.server_pids()
        meter = CpuMeter(pids)
        profiler = start_profiler(args, server) if cell.profile else None
        sampler = ConnectionSampler(pids, server.port, min(1.0, args.seconds / 2))
        with DatabaseWatcher(args.admin_url, name) as watcher:
            meter.start()
            sampler.start()
            out = run_wrk(args, lua, server.url + url_path, cell.connections, args.seconds)
            meter.stop()
        sampler.join()
        result.other_active = watcher.most_other_active
        meter.backend_s = watcher.backend_seconds()
        # The supervisor of N > 1 processes holds no connections: only the server processes count.
        result.connections_per_process = [c for c in sampler.counts if c] if cell.processes > 1 else sampler.counts
        if profiler is not None:
            result.profile = finish_profiler(profiler)
    finally:
        server.stop()
        servers.remove(server)
    requests = out["requests"]
    result.requests, result.requests_per_s = requests, requests / (out["duration_us"] / 1e6)
    result.p50_ms, result.p99_ms, result.mean_ms = out["p50_us"] / 1000, out["p99_us"] / 1000, out["mean_us"] / 1000
    result.http_errors = {
        k: out[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts") if out[k]
    }
    fill_cpu(result, meter, requests)
    if result.http_errors:
        raise RuntimeError(f"wrk saw errors: {result.http_errors}")
    if cell.operation == "post":
        # The server finished the requests in flight when wrk stopped: up to one per connection more.
        result.rows_written = count_events(dbs, name) - before
        if not requests <= result.rows_written <= requests + cell.connections:
            raise RuntimeError(f"wrk counted {requests} submits, the database holds {result.rows_written} new events")


def fill_cpu(result: Result, meter: CpuMeter, requests: int) -> None:
    if not requests:
        return
    server_s = getattr(meter, "server_s", 0.0)
    result.server_cpu_ms = server_s / requests * 1000
    result.server_user_ms = getattr(meter, "server_user_s", 0.0) / requests * 1000
    result.loadgen_cpu_ms = meter.loadgen_s / requests * 1000
    backend_s = getattr(meter, "backend_s", None)
    if backend_s is not None:
        result.backend_cpu_ms = backend_s / requests * 1000
    result.rest_cpu_ms = max(0.0, meter.machine_s - server_s - meter.loadgen_s - (backend_s or 0)) / requests * 1000
    result.machine_busy = meter.busy_share


# ---------------------------------------------------------------------------------------------
# Profiling one cell with py-spy


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_profiler(args: argparse.Namespace, server: Server) -> tuple[subprocess.Popen, Path]:
    output = server.log_path.with_suffix(".pyspy.txt")
    pids = server.server_pids()
    proc = subprocess.Popen(
        [
            args.py_spy,
            "record",
            "--pid",
            str(pids[-1]),
            "--duration",
            str(args.seconds),
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
    return proc, output


def finish_profiler(profiler: tuple[subprocess.Popen, Path]) -> dict:
    proc, output = profiler
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("py-spy did not finish") from None
    if proc.returncode != 0 or not output.exists():
        raise RuntimeError(f"py-spy failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return summarize_profile(output.read_text())


def _otel_subpackages() -> set[str]:
    """opentelemetry is a namespace package: py-spy names its files from below it (trace/...)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("opentelemetry")
    except (ImportError, ValueError):
        return set()
    found = set()
    for location in (spec.submodule_search_locations or []) if spec else []:
        found |= {p.name for p in Path(location).iterdir() if p.is_dir() and not p.name.startswith("__")}
    return found


OTEL_SUBPACKAGES = _otel_subpackages()
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::\d+)?\)$")


def component(filename: str) -> str:
    """A frame's package. py-spy names files relative to their sys.path entry (psycopg/_cursor_base.py,
    json/encoder.py, agentledger_api/middleware.py), frozen modules as <frozen name>."""
    path = filename.replace("\\", "/")
    if path.startswith("<frozen "):
        return "stdlib " + path[len("<frozen ") : -1].split(".")[0]
    if "site-packages/" in path:
        path = path.split("site-packages/")[1]
    top = path.lstrip("/").split("/")[0].removesuffix(".py")
    if top == "agentledger_api":  # the editable install's path, or the snapshot's
        return "agentledger_api"
    if path.startswith("fastapi/telemetry/") or (path.startswith(f"{top}/") and top in OTEL_SUBPACKAGES):
        return "FastAPI's OpenTelemetry hooks"
    if top in sys.stdlib_module_names:
        return "stdlib " + top
    return top or "?"


# A sample whose innermost non-stdlib frame is one of these ran in the event loop itself: uvloop's
# C code under asyncio.Runner.run (polling, scheduling, transports), with no Python frame of its own.
TRUNK = {
    "asyncio_run",
    "Server.run",
    "Server.serve",
    "run_server",
    "_serve",
    "main",
    "<module>",
    "_run_code",
    "_run_module_as_main",
    "child_main",
}
EVENT_LOOP = "event loop (uvloop's C code under asyncio.Runner.run)"


def summarize_profile(raw: str) -> dict:
    """Shares of the samples (CPU, since py-spy leaves idle threads out). `self`: the frame at the
    top of the stack; C code (uvloop, httptools, libpq, the kernel's socket calls) counts to the
    Python frame that called it. `charged`: the innermost frame outside the standard library, so
    json, logging, uuid or asyncio work counts to the code that asked for it."""
    self_pkg: Counter[str] = Counter()
    self_fn: Counter[str] = Counter()
    charged_pkg: Counter[str] = Counter()
    charged_fn: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = []
        for frame in (f for f in stack.split(";") if f):
            match = FRAME.match(frame.strip())
            function, filename = (match.group("function"), match.group("file")) if match else (frame, "")
            frames.append((function, component(filename)))
        if not frames:
            continue
        count = int(count_text)
        total += count
        function, package = frames[-1]
        self_pkg[package] += count
        self_fn[f"{function} ({package})"] += count
        owner = next(((f, p) for f, p in reversed(frames) if not p.startswith(("stdlib", "<"))), None)
        if owner is None or owner[0] in TRUNK:
            charged_pkg[EVENT_LOOP] += count
            charged_fn[EVENT_LOOP] += count
        else:
            charged_pkg[owner[1]] += count
            charged_fn[f"{owner[0]} ({owner[1]})"] += count
    share = lambda c: [(k, round(v / total, 3)) for k, v in c.most_common(15)]  # noqa: E731
    return {
        "samples": total,
        "charged_by_package": share(charged_pkg),
        "charged_by_function": share(charged_fn),
        "self_by_package": share(self_pkg),
        "self_by_function": share(self_fn),
    }


# ---------------------------------------------------------------------------------------------
# Reporting


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def direct_of(result: Result, done: dict[tuple, Result]) -> Result | None:
    return done.get((result.cell.operation, result.cell.connections, 0))


def ratio(result: Result, done: dict[tuple, Result]) -> float | None:
    base = direct_of(result, done)
    if result.cell.processes and base and base.requests_per_s and result.requests_per_s:
        return round(result.requests_per_s / base.requests_per_s, 3)
    return None


def progress_line(index: int, total: int, result: Result, done: dict[tuple, Result]) -> str:
    cell = result.cell
    head = f"[{index:2d}/{total}] {cell.label}, {cell.connections} conn: "
    if result.error:
        return head + "ERROR " + result.error
    line = (
        f"{result.requests_per_s:,.0f}/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms; "
        f"CPU/req: server {fmt(result.server_cpu_ms)} (user {fmt(result.server_user_ms)}), PostgreSQL backends {fmt(result.backend_cpu_ms)}, "
        f"load gen {fmt(result.loadgen_cpu_ms)}, rest {fmt(result.rest_cpu_ms)} ms; "
        f"machine {result.machine_busy:.0%} busy"
    )
    r = ratio(result, done)
    if r is not None:
        line += f"; {r:.2f} × direct"
    if len(result.connections_per_process) > 1:
        line += f"; connections per process {result.connections_per_process}"
    if result.other_active:
        line += f"; {result.other_active} active backend(s) of other databases seen"
    return head + line


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def result_json(result: Result, done: dict[tuple, Result], round_number: int | None) -> str:
    cell = result.cell
    return "RESULT " + json.dumps(
        {
            "operation": OPERATIONS[cell.operation],
            "path": cell.path,
            "processes": cell.processes or None,
            "connections": cell.connections,
            "profiled": cell.profile,
            "round": round_number,
            "requests_per_s": round(result.requests_per_s, 1) if result.requests_per_s else None,
            "requests": result.requests,
            "p50_ms": round3(result.p50_ms),
            "p99_ms": round3(result.p99_ms),
            "mean_ms": round3(result.mean_ms),
            "ratio_to_direct": ratio(result, done),
            "cpu_ms_per_request": {
                "server": round3(result.server_cpu_ms),
                "server_user": round3(result.server_user_ms),
                "postgres_backends": round3(result.backend_cpu_ms),
                "load_generator": round3(result.loadgen_cpu_ms),
                "rest": round3(result.rest_cpu_ms),
            },
            "machine_cpu_busy": round3(result.machine_busy),
            "rows_written": result.rows_written,
            "http_errors": result.http_errors,
            "pool_size_per_process": result.pool_size,
            "connections_per_process": result.connections_per_process,
            "other_active_backends": result.other_active,
            "quiet_wait": result.quiet,
            "profile": result.profile,
            "error": result.error,
        }
    )


def round3(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def markdown_table(results: list[Result], done: dict[tuple, Result], rounds: list[dict[tuple, Result]]) -> str:
    several = len(rounds) > 1
    rows = [
        "| operation | conns | path | requests/s | p50 ms | p99 ms | HTTP/direct | CPU ms/req: server "
        "(user + sys) | PostgreSQL backends | load generator | rest | machine CPU busy |"
        + (" requests/s per round |" if several else ""),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if several else ""),
    ]
    for r in results:
        cell = r.cell
        path = "direct (pgbench)" if cell.processes == 0 else f"HTTP, {cell.processes} proc"
        if r.error:
            rows.append(
                f"| {OPERATIONS[cell.operation]} | {cell.connections} | {path} | error | | | | | | | | |"
                + (" |" if several else "")
            )
            continue
        rat = ratio(r, done)
        rows.append(
            f"| {OPERATIONS[cell.operation]} | {cell.connections} | {path} | {r.requests_per_s:,.0f} | "
            f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {'' if rat is None else f'{rat:.2f}'} | "
            f"{server_cpu(r)} | {fmt(r.backend_cpu_ms)} | "
            f"{fmt(r.loadgen_cpu_ms)} | {fmt(r.rest_cpu_ms)} | "
            f"{r.machine_busy:.0%} |" + (f" {per_round(cell, rounds)} |" if several else "")
        )
    return "\n".join(rows)


def per_round(cell: Cell, rounds: list[dict[tuple, Result]]) -> str:
    rates = [done.get(cell_key(cell)) for done in rounds]
    return ", ".join("error" if r is None or r.error else f"{r.requests_per_s:,.0f}" for r in rates)


def server_cpu(r: Result) -> str:
    if not r.cell.processes or r.server_cpu_ms is None:
        return ""
    return f"{r.server_cpu_ms:.2f} ({r.server_user_ms:.2f} + {r.server_cpu_ms - r.server_user_ms:.2f})"


def best_processes(results: list[Result]) -> list[str]:
    lines = []
    by_key: dict[tuple[str, int], dict[int, float]] = {}
    for r in results:
        if r.cell.processes and not r.error and not r.cell.profile:
            by_key.setdefault((r.cell.operation, r.cell.connections), {})[r.cell.processes] = r.requests_per_s
    for (operation, connections), rates in by_key.items():
        if len(rates) > 1:
            best = max(rates, key=rates.get)
            others = ", ".join(f"N={n}: {v:,.0f}/s" for n, v in sorted(rates.items()))
            lines.append(f"- {OPERATIONS[operation]}, {connections} conn: best N={best} ({others})")
    return lines


def profile_report(result: Result) -> str:
    p = result.profile or {}
    cell = result.cell
    out = [
        f"Profile: {cell.label}, {cell.connections} connections: {result.requests_per_s or 0:,.0f} requests/s "
        f"under py-spy, server CPU {server_cpu(result)} ms per request (user + sys); {p.get('samples', 0)} "
        "samples of the server's busy threads. Shares of those samples:"
    ]
    for key, title in (
        ("charged_by_package", "by package, standard library charged to its caller"),
        ("charged_by_function", "by function, standard library charged to its caller"),
        ("self_by_function", "by function, self (the top frame)"),
    ):
        out += ["", f"| {title} | share |", "|---|---:|"]
        out += [f"| {k} | {v:.1%} |" for k, v in p.get(key, [])]
    return "\n".join(out)


def code_state() -> str:
    """The commit, and whether the API's code differs from it (with a digest of api/, to tell runs apart)."""
    import hashlib

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "api", "agentledger", "db")
    if not dirty:
        return f"code at commit {commit}"
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "api").rglob("*.py")):
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return (
        f"code at commit {commit} with uncommitted changes in api/, agentledger/ or db/ "
        f"(api/*.py sha256 {digest.hexdigest()[:12]})"
    )


def describe_machine(admin_url: str, pgbench: str, wrk: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "autovacuum", "synchronous_commit", "shared_buffers", "max_connections")
        }
    versions = [
        subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[0]
        for tool in (pgbench,)
    ]
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    versions.append((wrk_version.stdout + wrk_version.stderr).strip().splitlines()[0].split(" Copyright")[0])
    return (
        ", ".join(f"{k}={v}" for k, v in settings.items()) + f"; {os.cpu_count()} CPUs shared by the load "
        f"generator, the API server and PostgreSQL; {'; '.join(versions)}; Python {sys.version.split()[0]}"
    )


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure the HTTP API (wrk against agentledger serve) next to the same database calls "
        "made directly (pgbench). Run from the repository root."
    )
    parser.add_argument(
        "--seconds", type=int, default=None, help="measured seconds per cell (default 8; 2 with --quick)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured seconds of the same load before each cell (default 2; 1 with --quick)",
    )
    parser.add_argument(
        "--connections",
        type=client_list,
        default=[1, 8, 32],
        help="connection (pgbench client) counts (default 1,8,32)",
    )
    parser.add_argument(
        "--processes", type=client_list, default=[1, 2], help="server process counts to measure (default 1,2)"
    )
    parser.add_argument(
        "--operations",
        type=lambda s: [x for x in s.split(",") if x],
        default=["post", "get"],
        help="post, get or both (default post,get)",
    )
    parser.add_argument("--preload", type=int, default=10_000, help="events in every cell's database (default 10000)")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="pool size per server process (default: ceil(max connections / processes))",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        help="the server's log level (default info: one log line per request, as deployed)",
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1; wrk uses little CPU)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=30,
        help="before each cell, wait up to this many seconds for an idle machine (default 30; 0: no wait)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="OP:CONNECTIONS[,...]",
        help="also run these HTTP cells (1 process) under py-spy, e.g. post:1,post:8, and print "
        "where the server's CPU goes",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every cell this many times and report the fastest round of each (default 1; "
        "on a shared machine other work only slows a cell down)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2-second cells unless --seconds is given")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AGENTLEDGER_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="superuser URL to create and drop the benchmark's databases and role "
        "(env AGENTLEDGER_BENCH_ADMIN_URL; default %(default)s)",
    )
    parser.add_argument("--pgbench", default=find_pgbench(), help="pgbench executable")
    parser.add_argument("--wrk", default=shutil.which("wrk"), help="wrk executable (default: from PATH)")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2 if args.quick else 8)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    if args.seconds < 1 or args.warmup < 0 or args.preload < 1 or args.rounds < 1:
        parser.error("--seconds, --preload and --rounds must be at least 1 and --warmup at least 0")
    if set(args.operations) - set(OPERATIONS):
        parser.error("--operations takes post, get or post,get")
    if not args.wrk or not Path(args.wrk).exists():
        parser.exit(
            2,
            "http_bench.py: wrk not found. It is the HTTP load generator this benchmark uses: install it "
            "(Debian/Ubuntu: apt-get install -y wrk) or pass --wrk PATH.\n",
        )
    if not args.pgbench or not Path(args.pgbench).exists():
        parser.error("pgbench not found; pass --pgbench PATH")
    args.profile_cells = []
    for spec in (args.profile or "").split(","):
        if not spec:
            continue
        operation, _, connections = spec.partition(":")
        if operation not in OPERATIONS or not connections.isdigit() or int(connections) < 1:
            parser.error("--profile takes OP:CONNECTIONS[,...], e.g. post:1,post:8")
        args.profile_cells.append(Cell(operation, int(connections), 1, profile=True))
    if args.profile_cells:
        args.py_spy = find_py_spy()
        if not args.py_spy:
            parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    return args


def plan_cells(args: argparse.Namespace) -> list[Cell]:
    """Each HTTP cell right after the direct cell it is compared with, so that a slow drift of a
    noisy machine affects both sides of a ratio alike."""
    cells = []
    for operation in args.operations:
        for connections in args.connections:
            cells.append(Cell(operation, connections))
            cells += [Cell(operation, connections, n) for n in args.processes]
    cells += args.profile_cells
    return cells


def build_template(dbs: Databases, args: argparse.Namespace, login: str) -> tuple[str, str, tuple[int, int]]:
    name = dbs.prefix
    dbs.create(name)
    deploy_with_sqitch(args.admin_url, name)
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        for start in range(0, args.preload, 1000):
            size = min(1000, args.preload - start)
            events = [
                {
                    "customer_id": f"cust-{1 + (i * 7919) % 1_000_000}",
                    "event_type": "loan_application",
                    "payload": {"amount": 25000},
                }
                for i in range(start, start + size)
            ]
            conn.execute("SELECT count(*) FROM api.submit_events(%s::jsonb)", (json.dumps(events),))
        conn.execute("SELECT api.create_principal(%s, 'agent')", (KEY_NAME,))
        key = conn.execute("SELECT api.create_api_key(%s, 'worker')", (KEY_NAME,)).fetchone()[0]
        lo, hi, count = conn.execute("SELECT min(id), max(id), count(*) FROM ledger.events").fetchone()
    if hi - lo + 1 != count:
        raise RuntimeError(f"preloaded event ids are not contiguous ({lo}..{hi}, {count} events)")
    dbs.execute(name, "VACUUM ANALYZE")
    return name, key, (lo, hi)


def run(args: argparse.Namespace, dbs: Databases, servers: list[Server], roles: list[str]) -> int:
    cells = plan_cells(args)
    measured = [c for c in cells if not c.profile]
    profiled = [c for c in cells if c.profile]
    total = len(measured) * args.rounds + len(profiled)
    log(f"machine: {describe_machine(args.admin_url, args.pgbench, args.wrk)}")
    log(
        f"plan: {args.rounds} round(s) of {len(measured)} cells + {len(profiled)} profiled cell(s), {args.seconds} s "
        f"each after {args.warmup} s of warm-up; {method(args)}"
    )
    login = f"agentledger_httpbench_{os.getpid()}"
    dbs.execute(None, sql.SQL("CREATE ROLE {} LOGIN IN ROLE agentledger_api").format(sql.Identifier(login)))
    roles.append(login)
    template, key, id_range = build_template(dbs, args, login)
    log(
        f"deployed template database {template} with sqitch, preloaded {args.preload:,} events "
        f"(ids {id_range[0]}..{id_range[1]}), made worker key {KEY_NAME!r}; the API and pgbench connect as {login}"
    )
    rounds: list[dict[tuple, Result]] = []
    profiles: list[Result] = []
    index = 0
    with tempfile.TemporaryDirectory(prefix="agentledger_httpbench_") as workdir:
        state = code_state()  # taken with the snapshot, which the servers import
        setup = Setup(template, login, key, id_range, Path(workdir), snapshot_code(Path(workdir)))
        log(f"the servers import a snapshot of the code taken now: {state}")
        for number in range(1, args.rounds + 1):
            done: dict[tuple, Result] = {}
            for cell in measured:
                index += 1
                result = run_cell(cell, dbs, setup, args, servers)
                done[cell_key(cell)] = result
                log(progress_line(index, total, result, done) + (f" (round {number})" if args.rounds > 1 else ""))
                print(result_json(result, done, number), flush=True)
            rounds.append(done)
        best = best_of(rounds)
        for cell in profiled:
            index += 1
            result = run_cell(cell, dbs, setup, args, servers)
            profiles.append(result)
            log(progress_line(index, total, result, best))
            print(result_json(result, best, None), flush=True)
    table = [best[cell_key(c)] for c in measured]
    print()
    print(
        f"agentledger HTTP API vs direct database calls, {args.seconds} s per cell"
        + (f", best of {args.rounds} rounds" if args.rounds > 1 else "")
        + f"; {method(args)}; {state}"
    )
    print()
    print(markdown_table(table, best, rounds))
    lines = best_processes(table)
    if lines:
        print()
        print("Server processes, by requests/s:")
        print("\n".join(lines))
    for r in profiles:
        print()
        print(f"Profile failed: {r.error}" if r.error else profile_report(r))
    return 1 if any(r.error for done in rounds for r in done.values()) or any(r.error for r in profiles) else 0


def cell_key(cell: Cell) -> tuple:
    return (cell.operation, cell.connections, cell.processes)


def best_of(rounds: list[dict[tuple, Result]]) -> dict[tuple, Result]:
    """Per cell, the round with the most requests/s: on a shared machine other work only ever
    slows a cell down, so the fastest round is the one least disturbed."""
    best: dict[tuple, Result] = {}
    for done in rounds:
        for key, result in done.items():
            current = best.get(key)
            if (
                current is None
                or (current.error and not result.error)
                or (not result.error and not current.error and result.requests_per_s > current.requests_per_s)
            ):
                best[key] = result
    return best


def method(args: argparse.Namespace) -> str:
    return (
        f"every cell in a fresh clone of a sqitch-deployed template with {args.preload:,} events, after VACUUM "
        f"ANALYZE, CHECKPOINT and {args.warmup} s of unmeasured load (autovacuum is not relied on); server log "
        f"level {args.log_level}, request budget off, uvicorn as `agentledger serve` configures it"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: everything is cleaned up
    dbs = Databases(args.admin_url)
    dbs.prefix = f"agentledger_httpbench_{os.getpid()}"
    servers: list[Server] = []
    roles: list[str] = []
    try:
        return run(args, dbs, servers, roles)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for server in list(servers):
            server.stop()
        dbs.drop_all()
        for role in roles:
            try:
                dbs.execute(None, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
            except psycopg.Error as exc:
                log(f"could not drop role {role}: {exc}")
        log("stopped the servers, dropped the benchmark databases and role")


if __name__ == "__main__":
    sys.exit(main())
