#!/usr/bin/env python3
"""Throughput of agentledger's submit path, next to plain-INSERT yardsticks.

What is measured (events per second, pgbench as the load generator):

  yardstick A      one plain single-row INSERT per transaction into a plain table
                   (identity primary key, customer_id, type, jsonb payload, created_at)
  yardstick B      the same INSERT plus pg_notify('bench', 'x') in the same statement
  submit_event     SELECT * FROM api.submit_event(...) per transaction, in three notify modes
                   set through ledger.settings.notify_throttle: the default (50 ms),
                   '0' (NOTIFY on every submit) and '1 minute' (practically none)
  multi-row insert yardstick for batches: INSERT ... SELECT of 1,000 rows from generate_series
  submit_events    api.submit_events(<JSON array of 1,000 events>) per transaction

Why these yardsticks: A is the least work any durable one-row-per-transaction ledger must do on
this machine (one round trip, one heap row, one index entry, one commit flush), so
"submit_event / A" is the price of agentledger's checks, audit row, triggers and wake-up logic.
PostgreSQL serialises the commits of transactions that NOTIFY, so B is the ceiling for a submit
that notifies on every call. The multi-row INSERT is the same floor for a batch of 1,000.

Method: a database is deployed once with sqitch, preloaded with --preload events (through
api.submit_events) and as many plain rows, and used as a template. Every cell (one operation at
one client count) runs in its own fresh clone, after VACUUM ANALYZE (autovacuum may be off),
CHECKPOINT and a short unmeasured warm-up; then the clone is dropped. The preload makes the
ledger look like one in use (index depth, plan choices); --preload 0 --warmup 0 measures an empty
one. All databases are dropped at the end, also on errors and Ctrl-C. While pgbench runs, pg_stat_activity is sampled to show what the server's backends waited
on. Nothing here asserts on timings: it reports numbers.

Output: a progress line per cell on stderr, a `RESULT {json}` line per cell on stdout, and a
markdown table at the end on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH_SIZE = 1000  # the default ledger.settings.max_batch_size
SAMPLE_INTERVAL_S = 0.2

PLAIN_TABLE_DDL = """
CREATE TABLE public.bench_plain (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

# pgbench scripts. Each transaction is one statement, so one round trip, in every single-row case.
RANDOM_CUSTOMER = "\\set c random(1, 1000000)\n"
SCRIPT_A = RANDOM_CUSTOMER + (
    "INSERT INTO public.bench_plain (customer_id, type, payload)\n"
    "VALUES ('cust-' || :c::text, 'loan_application', '{\"amount\": 25000}'::jsonb);\n"
)
SCRIPT_B = RANDOM_CUSTOMER + (
    "WITH i AS (INSERT INTO public.bench_plain (customer_id, type, payload)\n"
    "           VALUES ('cust-' || :c::text, 'loan_application', '{\"amount\": 25000}'::jsonb)\n"
    "           RETURNING id)\n"
    "SELECT pg_notify('bench', 'x') FROM i;\n"
)
SCRIPT_SUBMIT = RANDOM_CUSTOMER + (
    "SELECT * FROM api.submit_event('cust-' || :c::text, 'loan_application',\n"
    "                               '{\"amount\": 25000}'::jsonb);\n"
)
SCRIPT_MULTIROW = (
    "INSERT INTO public.bench_plain (customer_id, type, payload)\n"
    "SELECT 'cust-' || (1 + floor(random() * 1000000))::int::text, 'loan_application',\n"
    "       '{\"amount\": 25000}'::jsonb\n"
    f"  FROM generate_series(1, {BATCH_SIZE});\n"
)
# The batch travels as a bind parameter (-M prepared), so every call sends and parses the JSON.
SCRIPT_BATCH = "SELECT count(*) FROM api.submit_events(:events::jsonb);\n"

NOTIFY_MODES = [  # (label, notify_throttle)
    ("default throttle 50 ms", "50 milliseconds"),
    ("notify every submit (throttle 0)", "0"),
    ("throttle 1 minute (≈ no notify)", "1 minute"),
]


@dataclass
class Cell:
    """One measurement: an operation at one client count."""

    key: str  # e.g. "A", "B", "submit:0", "multirow", "batch"
    label: str
    clients: int
    script: str
    events_per_tx: int
    count_sql: str  # counts the rows the cell wrote, to check pgbench's numbers
    setup_sql: list[str] = field(default_factory=list)
    compare_to: list[str] = field(default_factory=list)  # keys of yardstick cells
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    cell: Cell
    events_per_s: float | None = None
    tps: float | None = None
    latency_ms: float | None = None
    transactions: int | None = None
    per_second_tps: list[float] = field(default_factory=list)
    rows_written: int | None = None
    waits: dict[str, float] = field(default_factory=dict)  # share of active-backend samples
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Databases


class Databases:
    """Creates, clones and drops the benchmark's databases; remembers them for cleanup."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"agentledger_bench_{os.getpid()}"
        self.created: list[str] = []
        self.clone_count = 0

    def dsn(self, name: str) -> str:
        return make_conninfo(self.admin_url, dbname=name)

    def execute(self, name: str | None, *statements: str | sql.Composable) -> None:
        """Run statements in autocommit mode, each on its own, in database name (admin if None)."""
        with psycopg.connect(self.dsn(name) if name else self.admin_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def scalar(self, name: str | None, query: str, params: tuple = ()) -> object:
        with psycopg.connect(self.dsn(name) if name else self.admin_url, autocommit=True) as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None

    def create(self, name: str, template: str | None = None) -> None:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.created.append(name)
        self.execute(None, statement)

    def drop(self, name: str) -> None:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.execute(None, statement.format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in reversed(list(self.created)):
            try:
                self.drop(name)
            except psycopg.Error as exc:
                log(f"could not drop database {name}: {exc}")

    def build_template(self, preload: int) -> str:
        """A database deployed with sqitch plus the plain yardstick table, both preloaded."""
        name = self.prefix
        self.create(name)
        deploy_with_sqitch(self.admin_url, name)
        self.execute(name, PLAIN_TABLE_DDL)
        preload_rows(self.dsn(name), preload)
        self.execute(name, "VACUUM ANALYZE")
        return name

    def clone(self, template: str) -> str:
        self.clone_count += 1
        name = f"{self.prefix}_{self.clone_count:02d}"
        self.create(name, template=template)
        return name


def client_env(admin_url: str) -> dict[str, str]:
    """Environment for libpq/psql-based tools (sqitch, pgbench): password from PGPASSWORD."""
    env = dict(os.environ)
    password = conninfo_to_dict(admin_url).get("password")
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def preload_rows(dsn: str, count: int) -> None:
    """count events through api.submit_events, and count rows into the plain table."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO public.bench_plain (customer_id, type, payload)"
            " SELECT 'cust-' || (1 + (g * 7919) %% 1000000)::text, 'loan_application',"
            "        '{\"amount\": 25000}'::jsonb FROM generate_series(1, %s) g",
            (count,),
        )
        for start in range(0, count, BATCH_SIZE):
            events = json.dumps(batch_events(min(BATCH_SIZE, count - start)))
            conn.execute("SELECT count(*) FROM api.submit_events(%s::jsonb)", (events,))


def deploy_with_sqitch(admin_url: str, name: str) -> None:
    info = conninfo_to_dict(admin_url)
    target = "db:pg://{}@{}:{}/{}".format(
        info.get("user") or "postgres", info.get("host") or "127.0.0.1", info.get("port") or 5432, name
    )
    result = subprocess.run(
        ["sqitch", "deploy", "--target", target],
        cwd=REPO_ROOT,
        env=client_env(admin_url),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sqitch deploy failed:\n{result.stdout}{result.stderr}")
    # The benchmarks call the api functions as this login: it acts for a principal of its own.
    with psycopg.connect(make_conninfo(admin_url, dbname=name), autocommit=True) as conn:
        conn.execute("SELECT api.create_principal('bench-admin', 'human', session_user)")


def map_login(admin_url: str, database: str, login: str, principal: str) -> None:
    """Lets `login` act in `database`, as the agent `principal`."""
    with psycopg.connect(make_conninfo(admin_url, dbname=database), autocommit=True) as conn:
        conn.execute("SELECT api.create_principal(%s, 'agent', %s)", (principal, login))


# ---------------------------------------------------------------------------------------------
# Cells


def plan_cells(clients: list[int], batch_clients: list[int]) -> list[Cell]:
    """Yardsticks next to the agentledger cells they are compared with, client count by client
    count, so slow drifts of a noisy machine hit both sides of a ratio alike."""
    count_plain = "SELECT count(*) FROM public.bench_plain"
    count_events = "SELECT count(*) FROM ledger.events"
    cells: list[Cell] = []
    for n in clients:
        cells.append(Cell("A", "yardstick A: INSERT", n, SCRIPT_A, 1, count_plain))
        cells.append(Cell("B", "yardstick B: INSERT + pg_notify", n, SCRIPT_B, 1, count_plain))
        for label, throttle in NOTIFY_MODES:
            cells.append(
                Cell(
                    f"submit:{throttle}",
                    f"submit_event, {label}",
                    n,
                    SCRIPT_SUBMIT,
                    1,
                    count_events,
                    setup_sql=[f"UPDATE ledger.settings SET notify_throttle = '{throttle}'"],
                    compare_to=["A", "B"] if throttle == "0" else ["A"],
                )
            )
    events = json.dumps(batch_events(BATCH_SIZE), separators=(",", ":"))
    for n in batch_clients:
        cells.append(
            Cell(
                "multirow",
                f"yardstick: INSERT ... SELECT {BATCH_SIZE:,} rows",
                n,
                SCRIPT_MULTIROW,
                BATCH_SIZE,
                count_plain,
            )
        )
        cells.append(
            Cell(
                "batch",
                f"submit_events, {BATCH_SIZE:,} per call",
                n,
                SCRIPT_BATCH,
                BATCH_SIZE,
                count_events,
                compare_to=["multirow"],
                variables={"events": events},
            )
        )
    return cells


def batch_events(size: int) -> list[dict]:
    """The same batch body for every call; customers vary inside it, nothing is idempotent."""
    step = 7919  # a prime: spreads customer ids without a random generator
    return [
        {
            "customer_id": f"cust-{1 + (i * step) % 1000000}",
            "event_type": "loan_application",
            "payload": {"amount": 25000},
        }
        for i in range(size)
    ]


# ---------------------------------------------------------------------------------------------
# Running one cell


class WaitSampler(threading.Thread):
    """Samples what the active client backends of one database wait on, a few times a second.
    'CPU' means active with no wait event: running, or waiting for a core."""

    def __init__(self, admin_url: str, dbname: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.dbname = admin_url, dbname
        self.counts: Counter[str] = Counter()
        self.stop_event = threading.Event()

    def run(self) -> None:
        query = """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
                     FROM pg_stat_activity
                    WHERE datname = %s AND state = 'active' AND backend_type = 'client backend'"""
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                while not self.stop_event.wait(SAMPLE_INTERVAL_S):
                    self.counts.update(r[0] for r in conn.execute(query, (self.dbname,)))
        except psycopg.Error as exc:
            self.counts["sampler error: " + str(exc).splitlines()[0]] += 1

    def shares(self) -> dict[str, float]:
        total = sum(self.counts.values()) or 1
        return {k: round(v / total, 3) for k, v in self.counts.most_common()}


def run_cell(cell: Cell, dbs: Databases, template: str, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(cell)
    name = dbs.clone(template)
    try:
        dbs.execute(name, *cell.setup_sql, "VACUUM ANALYZE")
        dbs.execute(None, "CHECKPOINT")
        if args.warmup:  # absorbs the full-page writes that follow the checkpoint
            run_pgbench(cell, dbs.dsn(name), args.warmup, args, workdir)
        rows_before = int(dbs.scalar(name, cell.count_sql))
        sampler = WaitSampler(dbs.admin_url, name)
        sampler.start()
        try:
            output = run_pgbench(cell, dbs.dsn(name), args.seconds, args, workdir)
        finally:
            sampler.stop_event.set()
            sampler.join()
        result.waits = sampler.shares()
        parse_pgbench(output, result)
        result.rows_written = int(dbs.scalar(name, cell.count_sql)) - rows_before
        check_rows(result)
    except (psycopg.Error, RuntimeError, subprocess.TimeoutExpired) as exc:
        result.error = str(exc).strip()
    finally:
        dbs.drop(name)
    return result


def run_pgbench(cell: Cell, dsn: str, seconds: int, args: argparse.Namespace, workdir: Path) -> str:
    script = workdir / f"{cell.key.replace(':', '_').replace(' ', '_')}.sql"
    script.write_text(cell.script)
    command = [
        args.pgbench,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={cell.clients}",
        f"--jobs={min(cell.clients, os.cpu_count() or 1)}",
        f"--time={seconds}",
        "--progress=1",
        f"--file={script}",
    ]
    command += [f"--define={k}={v}" for k, v in cell.variables.items()]
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


def parse_pgbench(output: str, result: Result) -> None:
    def number(pattern: str) -> float:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise RuntimeError(f"pgbench output lacks /{pattern}/:\n{output[-2000:]}")
        return float(match.group(1))

    result.tps = number(r"^tps = ([\d.]+)")
    result.latency_ms = number(r"^latency average = ([\d.]+) ms")
    result.transactions = int(number(r"^number of transactions actually processed: (\d+)"))
    result.events_per_s = result.tps * result.cell.events_per_tx
    result.per_second_tps = [float(x) for x in re.findall(r"^progress: [\d.]+ s, ([\d.]+) tps", output, re.MULTILINE)]


def check_rows(result: Result) -> None:
    """Rows in the table must match what pgbench says it committed."""
    expected = result.transactions * result.cell.events_per_tx
    if result.rows_written != expected:
        raise RuntimeError(f"pgbench reported {expected} events, the cell wrote {result.rows_written}")


# ---------------------------------------------------------------------------------------------
# Reporting


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def trend(result: Result) -> float | None:
    """Mean tps of the last third of the run over the first third (1.0 = steady)."""
    tps = result.per_second_tps
    if len(tps) < 6:
        return None
    third = len(tps) // 3
    first = statistics.mean(tps[:third])
    return round(statistics.mean(tps[-third:]) / first, 2) if first else None


def top_waits(result: Result, n: int = 3) -> str:
    waits = [(k, v) for k, v in result.waits.items() if k != "CPU"][:n]
    return ", ".join(f"{k} {v:.0%}" for k, v in waits) or "none"


def progress_line(index: int, total: int, result: Result) -> str:
    cell = result.cell
    head = f"[{index:2d}/{total}] {cell.label}, {cell.clients} client(s): "
    if result.error:
        return head + "ERROR " + result.error
    line = f"{result.events_per_s:,.0f} events/s, {result.latency_ms:.2f} ms/tx; waits: {top_waits(result)}"
    drift = trend(result)
    if drift is not None and not 0.8 <= drift <= 1.25:
        line += f"; last third ran at {drift:.2f}× the first"
    return head + line


def result_json(result: Result, ratios: dict[str, float]) -> str:
    cell = result.cell
    return "RESULT " + json.dumps(
        {
            "operation": cell.key,
            "label": cell.label,
            "clients": cell.clients,
            "events_per_s": round(result.events_per_s, 1) if result.events_per_s else None,
            "tps": result.tps,
            "latency_ms": result.latency_ms,
            "transactions": result.transactions,
            "events_per_tx": cell.events_per_tx,
            "rows_written": result.rows_written,
            "ratios": ratios,
            "per_second_tps": result.per_second_tps,
            "trend": trend(result),
            "waits": result.waits,
            "error": result.error,
        }
    )


def ratios_for(result: Result, done: dict[tuple[str, int], Result]) -> dict[str, float]:
    """This cell's events/s over each of its yardsticks' at the same client count."""
    ratios = {}
    for key in result.cell.compare_to:
        base = done.get((key, result.cell.clients))
        if result.events_per_s and base and base.events_per_s:
            ratios[key] = round(result.events_per_s / base.events_per_s, 3)
    return ratios


def markdown_table(results: list[Result], done: dict[tuple[str, int], Result]) -> str:
    rows = ["| operation | clients | events/s | ratio to yardstick | avg latency (ms/tx) |", "|---|---:|---:|---|---:|"]
    for r in results:
        if r.error:
            rows.append(f"| {r.cell.label} | {r.cell.clients} | error | | |")
            continue
        ratios = ratios_for(r, done)
        ratio = ", ".join(f"{v:.2f} × {k}" for k, v in ratios.items()) or "(yardstick)"
        rows.append(f"| {r.cell.label} | {r.cell.clients} | {r.events_per_s:,.0f} | {ratio} | {r.latency_ms:.2f} |")
    return "\n".join(rows)


def describe_server(dbs: Databases, pgbench: str) -> str:
    with psycopg.connect(dbs.admin_url, autocommit=True) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "autovacuum", "synchronous_commit", "shared_buffers", "max_wal_size")
        }
    version = subprocess.run([pgbench, "--version"], capture_output=True, text=True).stdout.strip()
    return (
        ", ".join(f"{k}={v}" for k, v in settings.items())
        + f"; {os.cpu_count()} CPUs shared by client and server; {version}"
    )


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure agentledger submit throughput (events/s) against plain-INSERT "
        "yardsticks, using pgbench. Run from the repository root."
    )
    parser.add_argument(
        "--seconds", type=int, default=None, help="duration of each cell in seconds (default 10; 2 with --quick)"
    )
    parser.add_argument(
        "--clients", type=client_list, default=[1, 4, 8], help="client counts for the single-row cells (default 1,4,8)"
    )
    parser.add_argument(
        "--batch-clients",
        type=client_list,
        default=[1, 4],
        help=f"client counts for the {BATCH_SIZE:,}-event batch cells (default 1,4)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured seconds of the same load before each cell (default 2; 1 with --quick; 0 for none)",
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=100_000,
        help="events (and plain rows) in every cell's database before it starts "
        "(default 100000; 0 starts from empty tables, which with "
        "--warmup 0 shows plans cached on an empty ledger)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2-second cells unless --seconds is given")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AGENTLEDGER_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="superuser connection URL used to create and drop the benchmark "
        "databases (env AGENTLEDGER_BENCH_ADMIN_URL; default %(default)s)",
    )
    parser.add_argument(
        "--pgbench", default=find_pgbench(), help="pgbench executable (default: from PATH, else PostgreSQL's bindir)"
    )
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2 if args.quick else 10
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    if args.seconds < 1 or args.warmup < 0:
        parser.error("--seconds must be at least 1 and --warmup at least 0")
    if args.preload < 0:
        parser.error("--preload must not be negative")
    if not args.pgbench or not Path(args.pgbench).exists():
        parser.error("pgbench not found; pass --pgbench PATH")
    return args


def client_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("client counts must be positive integers")
    return values


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        candidate = Path(bindir.strip()) / "pgbench"
        if candidate.exists():
            return str(candidate)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    return str(candidates[-1]) if candidates else None


def run(args: argparse.Namespace, dbs: Databases) -> int:
    cells = plan_cells(args.clients, args.batch_clients)
    log(f"server: {describe_server(dbs, args.pgbench)}")
    log(f"plan: {len(cells)} cells of {args.seconds} s; {method(args)}")
    template = dbs.build_template(args.preload)
    log(
        f"deployed template database {template} with sqitch, preloaded {args.preload:,} events "
        f"and {args.preload:,} plain rows"
    )
    results: list[Result] = []
    done: dict[tuple[str, int], Result] = {}
    with tempfile.TemporaryDirectory(prefix="agentledger_bench_") as workdir:
        for index, cell in enumerate(cells, start=1):
            result = run_cell(cell, dbs, template, args, Path(workdir))
            results.append(result)
            done[(cell.key, cell.clients)] = result
            log(progress_line(index, len(cells), result))
            print(result_json(result, ratios_for(result, done)), flush=True)
    print()
    print(f"agentledger submit throughput, {args.seconds} s per cell; {method(args)}")
    print()
    print(markdown_table(results, done))
    return 1 if any(r.error for r in results) else 0


def method(args: argparse.Namespace) -> str:
    return (
        f"each cell runs in a fresh database cloned from a sqitch-deployed template holding "
        f"{args.preload:,} events and {args.preload:,} plain rows, after VACUUM ANALYZE, "
        f"CHECKPOINT and {args.warmup} s of unmeasured warm-up (autovacuum is not relied on)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the databases are dropped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dbs = Databases(args.admin_url)
    try:
        return run(args, dbs)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        dbs.drop_all()
        log("dropped the benchmark databases")


if __name__ == "__main__":
    sys.exit(main())
