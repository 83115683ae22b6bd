#!/usr/bin/env python3
"""Throughput of agentledger's worker protocol (claim, decide, complete), next to a raw
SKIP LOCKED queue on a plain table measured in the same run on the same server.

What is measured (events per second, pgbench as the load generator):

  raw, two transactions   yardstick: claim one row of a plain table (status 'queued', a partial
                          index on queued ids) with
                            UPDATE jobs SET status = 'running' WHERE id = (SELECT id ... ORDER BY id
                                   LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id   -- \\gset
                          and finish it with UPDATE jobs SET status = 'done' WHERE id = :id, each
                          statement its own transaction, as a worker runs them: 2 round trips,
                          2 commits per job.
  raw, one transaction    the same two statements inside BEGIN ... COMMIT: 4 round trips, 1 commit.
  agentledger, batch N    one cycle of a worker: api.claim_events(worker, N), then
                          api.decide_events(ids, tokens, 'approved' each, result object each,
                          p_keep_lease => true), then api.complete_events(ids, tokens): three round
                          trips, three transactions, each event moving queued -> processing ->
                          approved -> completed and leaving three audit rows.

events/s = pgbench transactions (cycles) per second x events per cycle; each agentledger cell is
also reported as a ratio to both raw cells at the same client count. Every cell runs in a fresh
clone of a template database (sqitch-deployed, preloaded with queued events through
api.submit_events in batches of 1,000 and as many queued plain jobs), after VACUUM ANALYZE
(autovacuum is off on the benchmark server and is not relied on), CHECKPOINT and a short unmeasured
warm-up. After each cell the rows are checked: every cycle pgbench reports must have completed its
N events, no event may be left in flight, and the cell must have written one claim, one decide and
one complete audit row per event. api.verify_audit() checks the whole trail of the last agentledger
cell (of every one with --verify-every). While pgbench runs, pg_stat_activity is sampled for wait
events; pgbench reports the mean latency of each statement; pg_stat_wal gives WAL bytes and WAL
flushes per event. A short profile pass (--profile-seconds, 1 client) then reports the time spent in
each database function per event (track_functions = all, only in the profile's own databases), also
with plan_cache_mode = force_generic_plan at batch 1 to show what per-call planning costs.

On a shared machine, --wait-quiet waits before each cell for an idle CPU and no active backend in
another database, the mean number of such backends during each cell is reported, and --rounds
runs the whole plan several times (interleaved) and reports each cell's best round with the range.

Output: a progress line per cell on stderr, a `RESULT {json}` line per cell on stdout, and
markdown tables at the end on stdout. Reuses the database, pgbench and sampling helpers of
submit_bench.py. All databases it creates are dropped at the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
from psycopg import sql
from submit_bench import (
    BATCH_SIZE,
    DEFAULT_ADMIN_URL,
    REPO_ROOT,
    SAMPLE_INTERVAL_S,
    Databases,
    Result,
    WaitSampler,
    batch_events,
    client_env,
    client_list,
    deploy_with_sqitch,
    describe_server,
    find_pgbench,
    log,
    parse_pgbench,
    top_waits,
    trend,
)

JOBS_DDL = [
    """CREATE TABLE public.jobs (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           status text NOT NULL DEFAULT 'queued',
           payload jsonb NOT NULL
       )""",
    # What any SKIP LOCKED queue has, and what ledger.events_claim_order_idx is for agentledger.
    "CREATE INDEX jobs_queued_idx ON public.jobs (id) WHERE status = 'queued'",
]

RAW_CLAIM = (
    "UPDATE public.jobs SET status = 'running'\n"
    " WHERE id = (SELECT id FROM public.jobs WHERE status = 'queued' ORDER BY id LIMIT 1\n"
    "               FOR UPDATE SKIP LOCKED)\n"
    "RETURNING id AS job_id \\gset\n"
)
RAW_FINISH = "UPDATE public.jobs SET status = 'done' WHERE id = :job_id;\n"
SCRIPT_RAW_TWO_TX = RAW_CLAIM + RAW_FINISH
SCRIPT_RAW_ONE_TX = "BEGIN;\n" + RAW_CLAIM + RAW_FINISH + "COMMIT;\n"

# pgbench's \gset stores text; the arrays go back as text parameters and are cast in SQL. An empty
# claim yields empty arrays (so a dry queue shows as missing completions, not as a pgbench error).
SCRIPT_LEDGER = (
    "SELECT coalesce(array_agg(c.id), '{{}}') AS ids,\n"
    "       coalesce(array_agg(c.lease_token), '{{}}') AS tokens\n"
    "  FROM api.claim_events('bench-worker-' || :client_id, {batch}) c \\gset\n"
    "SELECT count(*) FROM api.decide_events(:ids::bigint[], :tokens::uuid[],\n"
    "    array_fill('approved'::text, ARRAY[cardinality(:ids::bigint[])]), NULL,\n"
    "    array_fill('{{\"approved_amount\": 25000}}'::jsonb, ARRAY[cardinality(:ids::bigint[])]),\n"
    "    p_keep_lease => true);\n"
    "SELECT count(*) FROM api.complete_events(:ids::bigint[], :tokens::uuid[]);\n"
)

LEDGER_STATEMENTS = ["claim", "decide", "complete"]
LEDGER_COUNTS = """SELECT count(*) FILTER (WHERE status = 'completed'),
                          count(*) FILTER (WHERE status IN ('processing', 'approved', 'rejected')),
                          count(*) FILTER (WHERE status = 'queued')
                     FROM ledger.events"""
RAW_COUNTS = """SELECT count(*) FILTER (WHERE status = 'done'),
                       count(*) FILTER (WHERE status = 'running'),
                       count(*) FILTER (WHERE status = 'queued')
                  FROM public.jobs"""
QUIET_CPU_SHARE = 0.15  # below this the machine counts as idle before a cell
AUDIT_STEPS = {"processing": "claim", "approved": "decide", "completed": "complete"}
PROFILE_FUNCTIONS = [  # (schema.function, short name) in the order of a cycle
    ("api.claim_events", "claim_events"),
    ("api.decide_events", "decide_events"),
    ("api.complete_events", "complete_events"),
    ("ledger._checked_report", "_checked_report"),
    ("ledger._check_status_change", "_check_status_change (row trigger)"),
    ("ledger._audit_status_changes", "_audit_status_changes (audit trigger)"),
]


@dataclass
class Cell:
    """One measurement: one operation at one batch size and client count."""

    key: str  # "raw2", "raw1", "ledger:<batch>"
    label: str
    clients: int
    batch: int  # events per pgbench transaction (one worker cycle)
    script: str
    statements: list[str] = field(default_factory=list)  # names of the script's statements
    compare_to: list[str] = field(default_factory=list)
    verify: bool = False
    settings: dict[str, str] = field(default_factory=dict)  # ALTER DATABASE ... SET, profile only

    @property
    def ledger(self) -> bool:
        return self.key.startswith("ledger")

    @property
    def events_per_tx(self) -> int:  # what submit_bench.parse_pgbench multiplies tps by
        return self.batch


@dataclass
class ClaimResult(Result):
    statement_ms: list[tuple[str, float]] = field(default_factory=list)
    completed: int | None = None
    in_flight: int | None = None
    queued_left: int | None = None
    audit_rows: dict[str, int] = field(default_factory=dict)  # by step, written during the run
    wal_bytes_per_event: float | None = None
    wal_flushes_per_event: float | None = None
    verify: dict | None = None
    functions_us: dict[str, tuple[float, float]] = field(default_factory=dict)  # total, self
    other_load: float = 0.0  # mean active backends of other databases while the cell ran
    quiet: dict = field(default_factory=dict)  # the wait for an idle machine before the cell

    @property
    def audit_per_event(self) -> float | None:
        if not self.completed:
            return None
        return sum(self.audit_rows.values()) / self.completed


# ---------------------------------------------------------------------------------------------
# Databases


class ClaimDatabases(Databases):
    def __init__(self, admin_url: str) -> None:
        super().__init__(admin_url)
        self.prefix = f"agentledger_claimbench_{os.getpid()}"

    def build_template(self, preload: int) -> str:
        """Deployed with sqitch; preload queued events (through api.submit_events, 1,000 per
        call) and as many queued rows in the plain jobs table."""
        name = self.prefix
        self.create(name)
        deploy_with_sqitch(self.admin_url, name)
        self.execute(name, *JOBS_DDL)
        started = time.monotonic()
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO public.jobs (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, %s) g",
                (preload,),
            )
            body = json.dumps(batch_events(BATCH_SIZE))
            for start in range(0, preload, BATCH_SIZE):
                size = min(BATCH_SIZE, preload - start)
                events = body if size == BATCH_SIZE else json.dumps(batch_events(size))
                conn.execute("SELECT count(*) FROM api.submit_events(%s::jsonb)", (events,))
                done = start + size
                if done % 50_000 == 0 and done < preload:
                    log(f"  preloaded {done:,} of {preload:,} events ({done / (time.monotonic() - started):,.0f}/s)")
        self.execute(name, "VACUUM ANALYZE")
        return name


class LoadSampler(WaitSampler):
    """WaitSampler that also counts the active client backends of other databases: load on the
    shared server that the benchmark does not control (it skews WAL figures and timings)."""

    def __init__(self, admin_url: str, dbname: str) -> None:
        super().__init__(admin_url, dbname)
        self.samples = 0
        self.others = 0

    def run(self) -> None:
        query = """SELECT datname = %s, coalesce(wait_event_type || ':' || wait_event, 'CPU')
                     FROM pg_stat_activity
                    WHERE state = 'active' AND backend_type = 'client backend'
                      AND pid <> pg_backend_pid()"""
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                while not self.stop_event.wait(SAMPLE_INTERVAL_S):
                    rows = conn.execute(query, (self.dbname,)).fetchall()
                    self.samples += 1
                    self.counts.update(wait for mine, wait in rows if mine)
                    self.others += sum(1 for mine, _ in rows if not mine)
        except psycopg.Error as exc:
            self.counts["sampler error: " + str(exc).splitlines()[0]] += 1

    def other_load(self) -> float:
        """Mean number of active backends in other databases."""
        return self.others / self.samples if self.samples else 0.0


def machine_busy(interval: float = 1.0) -> float | None:
    """Share of the machine's CPU time spent busy over interval seconds (None without /proc)."""

    def sample() -> list[int]:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]

    try:
        before = sample()
        time.sleep(interval)
        after = sample()
    except OSError:
        return None
    delta = [b - a for a, b in zip(before, after, strict=False)]
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)  # idle + iowait
    return 1 - idle / sum(delta) if sum(delta) else None


def wait_until_quiet(dbs: Databases, limit: float) -> tuple[float, float | None, int, bool]:
    """Waits (at most limit seconds) until the machine is idle and no other database has an
    active backend: the server may be shared. Returns the seconds waited, the last CPU-busy
    share, the other active backends last seen, and whether it was quiet in the end."""
    started = time.monotonic()
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    while True:
        busy = machine_busy()
        others = int(dbs.scalar(None, query))
        waited = time.monotonic() - started
        quiet = (busy is None or busy < QUIET_CPU_SHARE) and others == 0
        if quiet or waited >= limit:
            return waited, busy, others, quiet
        time.sleep(1.0)


def wal_stats(dbs: Databases) -> tuple[int, int]:
    """Cluster-wide WAL bytes written and WAL flushes (fsyncs) so far."""
    with psycopg.connect(dbs.admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_bytes, wal_sync FROM pg_stat_wal").fetchone()
    return int(row[0]), int(row[1])


def counts(dbs: Databases, name: str, cell: Cell) -> tuple[int, int, int]:
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        row = conn.execute(LEDGER_COUNTS if cell.ledger else RAW_COUNTS).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


# ---------------------------------------------------------------------------------------------
# Running one cell


def run_cell(
    cell: Cell,
    dbs: Databases,
    template: str,
    args: argparse.Namespace,
    workdir: Path,
    seconds: int,
    profile: bool = False,
) -> ClaimResult:
    result = ClaimResult(cell)
    name = dbs.clone(template)
    try:
        settings = dict(cell.settings, **({"track_functions": "all"} if profile else {}))
        for setting, value in settings.items():  # for the sessions pgbench opens
            dbs.execute(
                name,
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)
                ),
            )
        dbs.execute(name, "VACUUM ANALYZE")
        if args.wait_quiet:
            waited, busy, others, quiet = wait_until_quiet(dbs, args.wait_quiet)
            result.quiet = {"waited_s": round(waited, 1), "cpu_busy": busy, "other_active": others, "quiet": quiet}
            if not quiet:
                cpu = f"CPU {busy:.0%} busy, " if busy is not None else ""
                log(
                    f"  the machine stayed busy for {waited:.0f} s ({cpu}{others} active backends "
                    "in other databases); measuring anyway"
                )
        dbs.execute(None, "CHECKPOINT")
        if args.warmup:  # takes the first full-page writes after the checkpoint; fills plan caches
            run_pgbench(cell, dbs.dsn(name), args.warmup, args, workdir)
        done_before = counts(dbs, name, cell)[0]
        audit_seq = int(dbs.scalar(name, "SELECT last_value FROM ledger.audit_log_seq_seq"))
        if profile:
            dbs.execute(name, "SELECT pg_stat_reset()")
        wal_before = wal_stats(dbs)
        sampler = LoadSampler(dbs.admin_url, name)
        sampler.start()
        try:
            output = run_pgbench(cell, dbs.dsn(name), seconds, args, workdir)
        finally:
            sampler.stop_event.set()
            sampler.join()
        result.waits = sampler.shares()
        result.other_load = sampler.other_load()
        parse_pgbench(output, result)
        result.statement_ms = parse_statement_latencies(output, cell.statements)
        done_after, result.in_flight, result.queued_left = counts(dbs, name, cell)
        result.completed = result.rows_written = done_after - done_before
        if cell.ledger:
            with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT to_status::text, count(*) FROM ledger.audit_log WHERE seq > %s GROUP BY 1", (audit_seq,)
                ).fetchall()
            result.audit_rows = {AUDIT_STEPS.get(status, status): int(n) for status, n in rows}
        if result.completed:
            wal_after = wal_stats(dbs)
            result.wal_bytes_per_event = (wal_after[0] - wal_before[0]) / result.completed
            result.wal_flushes_per_event = (wal_after[1] - wal_before[1]) / result.completed
        if profile and result.completed:
            result.functions_us = function_profile(dbs, name, result.completed)
        check_rows(result)
        if cell.verify:
            started = time.monotonic()
            with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
                cur = conn.execute("SELECT * FROM api.verify_audit()")
                columns = [c.name for c in cur.description]
                verdict = dict(zip(columns, cur.fetchone(), strict=False))
            verdict["seconds"] = round(time.monotonic() - started, 1)
            result.verify = verdict
            if not verdict["ok"]:
                raise RuntimeError(f"api.verify_audit() failed: {verdict}")
    except (psycopg.Error, RuntimeError, subprocess.TimeoutExpired) as exc:
        result.error = str(exc).strip()
    finally:
        dbs.drop(name)
    return result


def run_pgbench(cell: Cell, dsn: str, seconds: int, args: argparse.Namespace, workdir: Path) -> str:
    """Like submit_bench.run_pgbench, plus --report-per-command (mean latency per statement)."""
    script = workdir / f"{cell.key.replace(':', '_')}.sql"
    script.write_text(cell.script)
    command = [
        args.pgbench,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={cell.clients}",
        f"--jobs={min(cell.clients, os.cpu_count() or 1)}",
        f"--time={seconds}",
        "--progress=1",
        "--report-per-command",
        f"--file={script}",
        dsn,
    ]
    completed = subprocess.run(
        command,
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


def parse_statement_latencies(output: str, names: list[str]) -> list[tuple[str, float]]:
    """The per-statement mean latencies (ms) of --report-per-command, named by names (else by the
    api function they call or their first word)."""
    _, _, tail = output.partition("statement latencies in milliseconds")
    latencies = []
    for line in tail.splitlines()[1:]:
        match = re.match(r"^\s+([\d.]+)\s+(?:\d+\s+)?(\S.*)$", line)
        if not match:
            break
        text = match.group(2)
        function = re.search(r"api\.(\w+)", text)
        latencies.append((function.group(1) if function else text.split()[0].lower(), float(match.group(1))))
    if len(names) == len(latencies):
        latencies = [(name, ms) for name, (_, ms) in zip(names, latencies, strict=False)]
    return latencies


def function_profile(dbs: Databases, name: str, events: int) -> dict[str, tuple[float, float]]:
    """Microseconds per event spent in each tracked function (total, self) during the run."""
    time.sleep(0.5)  # pgbench's backends flush their function statistics as they exit
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || funcname, total_time, self_time FROM pg_stat_user_functions"
        ).fetchall()
    per_event = {fn: (total * 1000 / events, own * 1000 / events) for fn, total, own in rows}
    profile = {short: per_event.get(fn, (0.0, 0.0)) for fn, short in PROFILE_FUNCTIONS}
    other = sum(own for fn, (_, own) in per_event.items() if fn not in dict(PROFILE_FUNCTIONS))
    profile["other helpers"] = (other, other)
    return profile


def check_rows(result: ClaimResult) -> None:
    """Every cycle pgbench reports must have finished its events, and nothing may be left in
    flight; agentledger cells must have written one audit row per step and event."""
    cell = result.cell
    expected = result.transactions * cell.batch
    problems = []
    if result.completed != expected:
        problems.append(
            f"pgbench reported {result.transactions} cycles of {cell.batch} "
            f"({expected} events) but {result.completed} were finished"
            + ("; the queue ran dry: raise --preload" if result.queued_left == 0 else "")
        )
    if result.in_flight:
        problems.append(f"{result.in_flight} claimed events were left unfinished")
    if cell.ledger and (
        sum(result.audit_rows.values()) != 3 * result.completed
        or any(result.audit_rows.get(step, 0) != result.completed for step in AUDIT_STEPS.values())
    ):
        problems.append(
            f"audit rows by step {result.audit_rows}, expected {result.completed} "
            "of each of claim, decide, complete and no others"
        )
    if problems:
        raise RuntimeError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# Cells


def plan_cells(clients: list[int], batches: list[int], verify_every: bool) -> list[Cell]:
    """The yardsticks next to the agentledger cells they are compared with, client count by
    client count, so slow drifts of a noisy machine hit both sides of a ratio alike."""
    cells: list[Cell] = []
    for n in clients:
        cells.append(Cell("raw2", "raw SKIP LOCKED, 2 tx", n, 1, SCRIPT_RAW_TWO_TX, statements=["claim", "finish"]))
        cells.append(
            Cell(
                "raw1",
                "raw SKIP LOCKED, 1 tx",
                n,
                1,
                SCRIPT_RAW_ONE_TX,
                statements=["begin", "claim", "finish", "commit"],
            )
        )
        for batch in batches:
            cells.append(
                Cell(
                    f"ledger:{batch}",
                    "agentledger",
                    n,
                    batch,
                    SCRIPT_LEDGER.format(batch=batch),
                    statements=LEDGER_STATEMENTS,
                    compare_to=["raw2", "raw1"],
                    verify=verify_every,
                )
            )
    ledger_cells = [c for c in cells if c.ledger]
    if ledger_cells:
        ledger_cells[-1].verify = True  # the most clients and the largest batch: most rows
    return cells


def plan_profile(batches: list[int]) -> list[Cell]:
    cells = [
        Cell(f"ledger:{b}", "profile", 1, b, SCRIPT_LEDGER.format(batch=b), statements=LEDGER_STATEMENTS)
        for b in batches
    ]
    smallest = min(batches)
    cells.append(
        Cell(
            f"ledger:{smallest}",
            "profile, plan_cache_mode = force_generic_plan",
            1,
            smallest,
            SCRIPT_LEDGER.format(batch=smallest),
            statements=LEDGER_STATEMENTS,
            settings={"plan_cache_mode": "force_generic_plan"},
        )
    )
    return cells


# ---------------------------------------------------------------------------------------------
# Reporting


def ratios_for(result: ClaimResult, done: dict[tuple[str, int], ClaimResult]) -> dict[str, float]:
    ratios = {}
    for key in result.cell.compare_to:
        base = done.get((key, result.cell.clients))
        if result.events_per_s and base and base.events_per_s:
            ratios[key] = round(result.events_per_s / base.events_per_s, 3)
    return ratios


def statements_text(result: ClaimResult) -> str:
    return " / ".join(f"{v:.2f}" for _, v in result.statement_ms)


def progress_line(index: int, total: int, result: ClaimResult, done: dict[tuple[str, int], ClaimResult]) -> str:
    cell = result.cell
    head = (
        f"[{index:2d}/{total}] {cell.label}"
        + (f", batch {cell.batch}" if cell.ledger else "")
        + f", {cell.clients} client(s): "
    )
    if result.error:
        return head + "ERROR " + result.error
    ratios = ratios_for(result, done)
    line = f"{result.events_per_s:,.0f} events/s"
    if ratios:
        line += " (" + ", ".join(f"{v:.2f}× {k}" for k, v in ratios.items()) + ")"
    names = "/".join(n for n, _ in result.statement_ms)
    line += f"; {result.latency_ms:.2f} ms/cycle; ms per statement {names}: {statements_text(result)}"
    if cell.ledger:
        line += f"; {result.audit_per_event:.2f} audit rows/event"
    if result.wal_bytes_per_event is not None:
        line += f"; {result.wal_bytes_per_event / 1024:.1f} kB WAL/event"
    line += f"; waits: {top_waits(result)}"
    if result.verify:
        line += f"; verify_audit ok over {result.verify['rows_checked']:,} rows ({result.verify['seconds']} s)"
    drift = trend(result)
    if drift is not None and not 0.8 <= drift <= 1.25:
        line += f"; last third ran at {drift:.2f}× the first"
    if result.other_load >= 0.1:
        line += f"; NOTE other databases had {result.other_load:.1f} active backends on average"
    return head + line


def result_json(result: ClaimResult, ratios: dict[str, float], phase: str) -> str:
    cell = result.cell
    return "RESULT " + json.dumps(
        {
            "phase": phase,
            "operation": cell.key,
            "label": cell.label,
            "batch": cell.batch,
            "clients": cell.clients,
            "settings": cell.settings,
            "events_per_s": round(result.events_per_s, 1) if result.events_per_s else None,
            "tps": result.tps,
            "latency_ms": result.latency_ms,
            "transactions": result.transactions,
            "statement_ms": dict(result.statement_ms),
            "completed": result.completed,
            "in_flight": result.in_flight,
            "queued_left": result.queued_left,
            "audit_rows": result.audit_rows,
            "audit_rows_per_event": (round(result.audit_per_event, 3) if result.audit_per_event is not None else None),
            "wal_bytes_per_event": (
                round(result.wal_bytes_per_event) if result.wal_bytes_per_event is not None else None
            ),
            "wal_flushes_per_event": (
                round(result.wal_flushes_per_event, 4) if result.wal_flushes_per_event is not None else None
            ),
            "ratios": ratios,
            "per_second_tps": result.per_second_tps,
            "trend": trend(result),
            "waits": result.waits,
            "other_databases_active": round(result.other_load, 2),
            "quiet_wait": result.quiet,
            "verify_audit": result.verify,
            "functions_us_per_event": {
                k: {"total": round(t, 1), "self": round(s, 1)} for k, (t, s) in result.functions_us.items()
            },
            "error": result.error,
        },
        default=str,
    )


def markdown_table(
    results: list[ClaimResult],
    done: dict[tuple[str, int], ClaimResult],
    rounds: dict[tuple[str, int], list[ClaimResult]],
) -> str:
    """One row per cell: its best round (the least disturbed on a shared machine), the range of
    all rounds, and the ratios of best to best."""
    rows = [
        "| operation | batch | clients | events/s | all rounds | × raw 2-tx | × raw 1-tx "
        "| ms/cycle | ms per statement | audit rows/event | WAL kB/event "
        "| main waits (share of samples) | other DBs active |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|",
    ]
    for r in results:
        cell = r.cell
        op = cell.label
        if r.error:
            rows.append(f"| {op} | {cell.batch} | {cell.clients} | error | | | | | | | | | |")
            continue
        rates = sorted(x.events_per_s for x in rounds[(cell.key, cell.clients)] if x.events_per_s)
        spread = f"{rates[0]:,.0f}–{rates[-1]:,.0f}" if len(rates) > 1 else ""
        ratios = ratios_for(r, done)
        ratio_cells = " | ".join(f"{ratios[k]:.2f}" if k in ratios else "—" for k in ("raw2", "raw1"))
        waits = ", ".join(f"{k} {v:.0%}" for k, v in list(r.waits.items())[:3])
        audit = f"{r.audit_per_event:.2f}" if cell.ledger else "—"
        wal = f"{r.wal_bytes_per_event / 1024:.1f}" if r.wal_bytes_per_event is not None else ""
        names = "/".join(n for n, _ in r.statement_ms)
        rows.append(
            f"| {op} | {cell.batch} | {cell.clients} | {r.events_per_s:,.0f} | {spread} | "
            f"{ratio_cells} | {r.latency_ms:.2f} | {names} {statements_text(r)} | "
            f"{audit} | {wal} | {waits} | {r.other_load:.1f} |"
        )
    return "\n".join(rows)


def profile_table(results: list[ClaimResult]) -> str:
    ok = [r for r in results if not r.error and r.functions_us]
    if not ok:
        return "(no profile)"
    heads = [f"batch {r.cell.batch}" + (", generic plans" if r.cell.settings else "") for r in ok]
    rows = ["| µs per event (self time), 1 client | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(ok)]
    names = list(ok[0].functions_us)
    for name in names:
        rows.append(f"| {name} | " + " | ".join(f"{r.functions_us[name][1]:,.1f}" for r in ok) + " |")
    rows.append(
        "| sum of the functions | "
        + " | ".join(f"{sum(s for _, s in r.functions_us.values()):,.1f}" for r in ok)
        + " |"
    )
    rows.append(
        "| wall time per event (1 / events/s) | " + " | ".join(f"{1e6 / r.events_per_s:,.1f}" for r in ok) + " |"
    )
    rows.append("| events/s in this pass | " + " | ".join(f"{r.events_per_s:,.0f}" for r in ok) + " |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure agentledger claim + decide + complete throughput (events/s) against "
        "a raw SKIP LOCKED queue, using pgbench. Run from the repository root."
    )
    parser.add_argument(
        "--seconds", type=int, default=None, help="duration of each cell in seconds (default 10; 30 with --full)"
    )
    parser.add_argument(
        "--full", action="store_true", help="longer cells (30 s) and warm-ups (3 s) for steadier numbers"
    )
    parser.add_argument("--clients", type=client_list, default=[1, 4, 8], help="client counts (default 1,4,8)")
    parser.add_argument(
        "--batches", type=client_list, default=[1, 10, 100], help="events claimed per cycle (default 1,10,100)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="unmeasured seconds of the same load before each cell (default 2; 3 with --full; 0 for none)",
    )
    parser.add_argument(
        "--expected-rate",
        type=int,
        default=10_000,
        help="the most events/s any cell is expected to reach; sizes the preload (default %(default)s)",
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=None,
        help="queued events (and plain jobs) in every cell's database; default: "
        "expected rate × (seconds + warm-up) × 1.5, rounded up to 1,000s",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the whole plan this many times and report each cell's best round, with the range (default 1)",
    )
    parser.add_argument(
        "--verify-every",
        action="store_true",
        help="run api.verify_audit() after every agentledger cell, not only the last (adds a few seconds per cell)",
    )
    parser.add_argument(
        "--profile-seconds",
        type=int,
        default=5,
        help="duration of each profile cell (1 client, per batch size, with "
        "track_functions = all); 0 skips the profile (default %(default)s)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=10,
        help="before each cell, wait up to this many seconds for an idle machine "
        f"(CPU under {QUIET_CPU_SHARE * 100:.0f}%% busy, no active backend in another "
        "database), as the server may be shared; 0 does not wait "
        "(default %(default)s)",
    )
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
        args.seconds = 30 if args.full else 10
    if args.warmup is None:
        args.warmup = 3 if args.full else 2
    if args.seconds < 1 or args.rounds < 1 or args.warmup < 0 or args.profile_seconds < 0:
        parser.error("--seconds and --rounds must be at least 1, --warmup and --profile-seconds at least 0")
    if max(args.batches) > BATCH_SIZE:
        parser.error(f"a batch may hold at most {BATCH_SIZE} events (ledger.settings.max_batch_size)")
    if args.preload is None:
        longest = max(args.seconds, args.profile_seconds) + args.warmup
        args.preload = math.ceil(args.expected_rate * longest * 1.5 / 1000) * 1000
    if args.preload < 1:
        parser.error("--preload must be positive")
    if not args.pgbench or not Path(args.pgbench).exists():
        parser.error("pgbench not found; pass --pgbench PATH")
    return args


def method(args: argparse.Namespace) -> str:
    return (
        f"each cell runs in a fresh database cloned from a sqitch-deployed template holding "
        f"{args.preload:,} queued events and {args.preload:,} queued plain jobs, after VACUUM "
        f"ANALYZE (autovacuum is off and not relied on), CHECKPOINT and {args.warmup} s of "
        f"unmeasured warm-up; one cycle = claim, decide (keep lease), complete as three "
        f"transactions"
    )


def source_version() -> str:
    """The commit the deployed functions come from, and whether db/ has uncommitted changes."""

    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (db/ has uncommitted changes)" if git("status", "--porcelain", "db") else "")


def run(args: argparse.Namespace, dbs: ClaimDatabases) -> int:
    cells = plan_cells(args.clients, args.batches, args.verify_every)
    profile_cells = plan_profile(args.batches) if args.profile_seconds else []
    version = source_version()  # read once: the working tree may move while the benchmark runs
    log(f"server: {describe_server(dbs, args.pgbench)}; functions from commit {version}")
    log(
        f"plan: {args.rounds} round(s) of {len(cells)} cells of {args.seconds} s + "
        f"{len(profile_cells)} profile cells of "
        f"{args.profile_seconds} s; {method(args)}"
    )
    started = time.monotonic()
    template = dbs.build_template(args.preload)
    log(
        f"deployed template database {template} with sqitch, preloaded {args.preload:,} events "
        f"and {args.preload:,} plain jobs in {time.monotonic() - started:.0f} s"
    )
    rounds: dict[tuple[str, int], list[ClaimResult]] = {}
    profiles: list[ClaimResult] = []
    total = len(cells) * args.rounds + len(profile_cells)
    index = 0
    with tempfile.TemporaryDirectory(prefix="agentledger_claimbench_") as tmp:
        workdir = Path(tmp)
        # Rounds run the whole plan again, so a burst of outside load hits other cells each time.
        for round_no in range(1, args.rounds + 1):
            done: dict[tuple[str, int], ClaimResult] = {}  # this round's, for its progress lines
            for cell in cells:
                index += 1
                last_round = round_no == args.rounds
                result = run_cell(
                    replace(cell, verify=cell.verify and last_round), dbs, template, args, workdir, args.seconds
                )
                rounds.setdefault((cell.key, cell.clients), []).append(result)
                done[(cell.key, cell.clients)] = result
                log(progress_line(index, total, result, done))
                print(result_json(result, ratios_for(result, done), f"measure, round {round_no}"), flush=True)
        for cell in profile_cells:
            index += 1
            result = run_cell(cell, dbs, template, args, workdir, args.profile_seconds, profile=True)
            profiles.append(result)
            log(progress_line(index, total, result, {}))
            print(result_json(result, {}, "profile"), flush=True)
    best = {key: best_round(results) for key, results in rounds.items()}
    results = [best[(cell.key, cell.clients)] for cell in cells]
    print()
    print(
        f"agentledger claim throughput, {args.seconds} s per cell, best of {args.rounds} "
        f"round(s); functions from commit {version}; {method(args)}; "
        f"whole run {time.monotonic() - started:.0f} s"
    )
    print()
    print(markdown_table(results, best, rounds))
    if profiles:
        print()
        print(f"Profile: {args.profile_seconds} s per cell, 1 client, track_functions = all")
        print()
        print(profile_table(profiles))
    everything = [r for results in rounds.values() for r in results] + profiles
    return 1 if any(r.error for r in everything) else 0


def best_round(results: list[ClaimResult]) -> ClaimResult:
    """The round with the most events/s: on a shared machine, the least disturbed one. A cell
    whose rounds all failed is represented by its last error."""
    ok = [r for r in results if not r.error]
    return max(ok, key=lambda r: r.events_per_s) if ok else results[-1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the databases are dropped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dbs = ClaimDatabases(args.admin_url)
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
