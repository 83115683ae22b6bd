#!/usr/bin/env python3
"""Claim throughput of agentledger's worker protocol with and without per-customer ordering, next to
a raw SKIP LOCKED queue on a plain table measured in the same run on the same server.

What is measured: the same workload drained by --claimers concurrent claimer processes (default 4),
each on its own connection, each looping until every event is completed:

  unordered   api.claim_events(worker, B), then api.decide_events(ids, tokens, 'approved' each,
              a result object each, p_keep_lease => true), then api.complete_events(ids, tokens):
              three transactions per cycle, three audit rows per event. --events events (default
              20,000) of a type whose ledger.event_types.ordered_per_customer is false, submitted
              round-robin over --customers customers (event i belongs to customer i mod C).
  ordered     the same, with a type whose ordered_per_customer is true: a customer's event is
              claimable only once every earlier one of that customer is completed, so at most one
              per customer is in flight and a claim finds at most as many events as there are
              customers without one in flight.
  raw         yardstick: the same number of rows of a plain table (a partial index on queued ids),
              claimed B at a time with
                UPDATE jobs SET status = 'running' WHERE id IN (SELECT id ... WHERE status = 'queued'
                       ORDER BY id LIMIT B FOR UPDATE SKIP LOCKED) RETURNING id
              and finished with UPDATE jobs SET status = 'done' WHERE id = ANY(ids): two
              transactions per cycle, by the same number of claimer processes.

The two ledger runs are made for each customer count of --customers (default 500,50,5): fewer
customers means fewer claimable events at a time. events/s = events / (go signal to the last
completion). A claim that finds nothing (every customer with work already has an event in flight, or
the last rows are held by other claimers) counts as an empty claim; the claimer sleeps --idle-ms and
tries again until all events are completed. Per run: mean claim call time, mean events per non-empty
claim, empty claims, the mean time of a cycle's two reports, CPU of the claimers' PostgreSQL
backends per event (from /proc, split into claim calls and report calls), and how busy the machine
was.

Method: a database is deployed once with sqitch from this checkout and used as a template (with the
two event types and the plain table). Every run takes a fresh clone, submits its events through
api.submit_events (1,000 per call) or inserts its plain rows, then runs VACUUM ANALYZE (autovacuum is
off on the benchmark machines and is not relied on) and CHECKPOINT before the claimers start. The
claimers connect as a new LOGIN role that is a member of agentledger_worker (granted the plain table
for the yardstick). After each run the rows are checked: every event completed, three audit rows
each, and with ordering no customer ever had two events in flight (from the audit trail's order).
Before each ordered run, the plan of the claim is shown (--explain, on by default): in one
transaction that is rolled back, the claim takes every customer's first event, as claimers do in a
drain, and the next claim runs under auto_explain (ANALYZE, BUFFERS, nested statements).

Output: a progress line per step on stderr, a `RESULT {json}` line per run on stdout, and a markdown
table at the end on stdout (the claim plans after it). All databases and the role it creates are
dropped at the end, also on errors and Ctrl-C. Reuses the database helpers of submit_bench.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from submit_bench import BATCH_SIZE, DEFAULT_ADMIN_URL, REPO_ROOT, Databases, deploy_with_sqitch, log

UNORDERED_TYPE = "bench_unordered"
ORDERED_TYPE = "bench_ordered"
EVENT_TYPES_SQL = (
    "INSERT INTO ledger.event_types (name, description, ordered_per_customer) VALUES"
    f" ('{UNORDERED_TYPE}', 'ordering benchmark: not ordered', false),"
    f" ('{ORDERED_TYPE}', 'ordering benchmark: ordered per customer', true)"
)
JOBS_DDL = [
    """CREATE TABLE public.jobs (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           status text NOT NULL DEFAULT 'queued',
           payload jsonb NOT NULL
       )""",
    "CREATE INDEX jobs_queued_idx ON public.jobs (id) WHERE status = 'queued'",
]

CLAIM_SQL = "SELECT id, lease_token FROM api.claim_events(%s, %s)"
DECIDE_SQL = (
    "SELECT count(*) FILTER (WHERE outcome = 'done'), min(code) FROM api.decide_events("
    "%(ids)s, %(tokens)s, array_fill('approved'::text, ARRAY[%(n)s]), NULL,"
    " array_fill('{\"approved_amount\": 25000}'::jsonb, ARRAY[%(n)s]), p_keep_lease => true)"
)
COMPLETE_SQL = (
    "SELECT count(*) FILTER (WHERE outcome = 'done'), min(code) FROM api.complete_events(%(ids)s, %(tokens)s)"
)
RAW_CLAIM_SQL = (
    "UPDATE public.jobs SET status = 'running'"
    " WHERE id IN (SELECT id FROM public.jobs WHERE status = 'queued' ORDER BY id LIMIT %s"
    "              FOR UPDATE SKIP LOCKED) RETURNING id"
)
RAW_FINISH_SQL = "UPDATE public.jobs SET status = 'done' WHERE id = ANY(%s)"

LEDGER_CHECK_SQL = """
SELECT (SELECT count(*) FROM ledger.events WHERE status = 'completed'),
       (SELECT count(*) FROM ledger.events WHERE status <> 'completed'),
       (SELECT count(*) FROM ledger.audit_log WHERE to_status = 'processing'),
       (SELECT count(*) FROM ledger.audit_log WHERE to_status = 'approved'),
       (SELECT count(*) FROM ledger.audit_log WHERE to_status = 'completed')"""
# With ordering, an event's claim must come after its customer's previous event was completed: audit
# sequence numbers are drawn in statement order, and the claim cannot start before that completion
# commits. Counts the events claimed while an earlier one of their customer was still in flight.
OVERLAP_SQL = """
WITH steps AS (
    SELECT customer_id, event_id,
           min(seq) FILTER (WHERE to_status = 'processing') AS claimed,
           max(seq) FILTER (WHERE to_status = 'completed') AS completed
      FROM ledger.audit_log GROUP BY customer_id, event_id
), lined AS (
    SELECT claimed, lag(completed) OVER (PARTITION BY customer_id ORDER BY event_id) AS previous_done
      FROM steps
)
SELECT count(*) FROM lined WHERE claimed < previous_done"""
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    key: str  # "raw", "unordered:<C>", "ordered:<C>"
    label: str
    customers: int | None
    events: int
    seconds: float | None = None
    per_s: float | None = None
    done: int = 0
    claims: int = 0  # non-empty claim calls
    empty_claims: int = 0
    claim_s: float = 0.0  # time in all claim calls, empty ones included
    empty_claim_s: float = 0.0  # of it, in the claims that found nothing
    report_s: float = 0.0  # time in the decide + complete (raw: finish) calls
    claim_cpu_s: float = 0.0  # backend CPU during claim calls
    report_cpu_s: float = 0.0
    busy: float | None = None  # share of the machine's CPU busy during the run
    overlaps: int | None = None  # ordered runs: events claimed while their customer had one in flight
    timed_out: bool = False
    error: str | None = None

    @property
    def claim_ms(self) -> float | None:
        calls = self.claims + self.empty_claims
        return self.claim_s / calls * 1000 if calls else None

    @property
    def full_claim_ms(self) -> float | None:
        return (self.claim_s - self.empty_claim_s) / self.claims * 1000 if self.claims else None

    @property
    def empty_claim_ms(self) -> float | None:
        return self.empty_claim_s / self.empty_claims * 1000 if self.empty_claims else None

    @property
    def batch_mean(self) -> float | None:
        return self.done / self.claims if self.claims else None

    @property
    def report_ms(self) -> float | None:
        return self.report_s / self.claims * 1000 if self.claims else None


# ---------------------------------------------------------------------------------------------
# A claimer (its own process)


def backend_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def claimer(
    dsn: str,
    name: str,
    raw: bool,
    batch: int,
    total: int,
    idle_s: float,
    limit_s: float,
    done,
    ready,
    go,
    stop,
    results,
) -> None:
    """Claims batch after batch until done reaches total (or limit_s has passed since the go, or
    another claimer failed)."""
    stats = {
        "done": 0,
        "claims": 0,
        "empty_claims": 0,
        "claim_s": 0.0,
        "empty_claim_s": 0.0,
        "report_s": 0.0,
        "claim_ticks": 0,
        "report_ticks": 0,
        "last_done": None,
        "error": None,
    }
    released = False
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            ready.release()
            released = True
            go.wait()
            deadline = time.monotonic() + limit_s
            while done.value < total and time.monotonic() < deadline and not stop.is_set():
                ticks0, t0 = backend_ticks(pid), time.perf_counter()
                if raw:
                    rows = conn.execute(RAW_CLAIM_SQL, (batch,), prepare=True).fetchall()
                else:
                    rows = conn.execute(CLAIM_SQL, (name, batch), prepare=True).fetchall()
                t1, ticks1 = time.perf_counter(), backend_ticks(pid)
                stats["claim_s"] += t1 - t0
                stats["claim_ticks"] += ticks1 - ticks0
                if not rows:
                    stats["empty_claims"] += 1
                    stats["empty_claim_s"] += t1 - t0
                    time.sleep(idle_s)
                    continue
                stats["claims"] += 1
                ids = [r[0] for r in rows]
                if raw:
                    conn.execute(RAW_FINISH_SQL, (ids,), prepare=True)
                else:
                    params = {"ids": ids, "tokens": [r[1] for r in rows], "n": len(ids)}
                    for step, statement in (("decide", DECIDE_SQL), ("complete", COMPLETE_SQL)):
                        ok, code = conn.execute(statement, params, prepare=True).fetchone()
                        if ok != len(ids):
                            raise RuntimeError(f"{step}: {len(ids) - ok} of {len(ids)} reports not done ({code})")
                stats["report_s"] += time.perf_counter() - t1
                stats["report_ticks"] += backend_ticks(pid) - ticks1
                stats["last_done"] = time.monotonic()
                stats["done"] += len(ids)
                with done.get_lock():
                    done.value += len(ids)
    except BaseException as exc:  # reported to the parent, which fails the run
        stats["error"] = f"{type(exc).__name__}: {str(exc).strip()}"
        stop.set()
        if not released:  # a claimer that failed before the go must not stall the parent
            ready.release()
    results.put(stats)


def machine_cpu() -> list[int] | None:
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None


def busy_share(before: list[int] | None, after: list[int] | None) -> float | None:
    if not before or not after:
        return None
    delta = [b - a for a, b in zip(before, after, strict=False)]
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)  # idle + iowait
    return 1 - idle / sum(delta) if sum(delta) else None


def drain(run: Run, dsn: str, args: argparse.Namespace) -> None:
    """Starts the claimers, lets them go together, and collects what they measured."""
    ctx = mp.get_context("fork")  # no threads or connections are open in this process here
    done = ctx.Value("q", 0)
    ready, go, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=claimer,
            daemon=True,
            args=(
                dsn,
                f"bench-claimer-{i + 1}",
                run.key == "raw",
                args.batch,
                run.events,
                args.idle_ms / 1000,
                args.run_limit,
                done,
                ready,
                go,
                stop,
                results,
            ),
        )
        for i in range(args.claimers)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=60):
                raise RuntimeError("a claimer did not connect within 60 s")
        cpu0 = machine_cpu()
        started = time.monotonic()
        go.set()
        stats = [results.get(timeout=args.run_limit + 60) for _ in procs]
        cpu1 = machine_cpu()
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    errors = [s["error"] for s in stats if s["error"]]
    if errors:
        raise RuntimeError("; ".join(sorted(set(errors))))
    run.busy = busy_share(cpu0, cpu1)
    run.done = sum(s["done"] for s in stats)
    for key in ("claims", "empty_claims"):
        setattr(run, key, sum(s[key] for s in stats))
    run.claim_s = sum(s["claim_s"] for s in stats)
    run.empty_claim_s = sum(s["empty_claim_s"] for s in stats)
    run.report_s = sum(s["report_s"] for s in stats)
    run.claim_cpu_s = sum(s["claim_ticks"] for s in stats) / CLK_TCK
    run.report_cpu_s = sum(s["report_ticks"] for s in stats) / CLK_TCK
    last = max((s["last_done"] for s in stats if s["last_done"]), default=None)
    run.timed_out = run.done < run.events
    run.seconds = (last - started) if last else None
    if run.seconds:
        run.per_s = run.done / run.seconds


# ---------------------------------------------------------------------------------------------
# Runs


def settle(dbs: Databases, name: str) -> None:
    dbs.execute(name, "VACUUM ANALYZE")
    dbs.execute(None, "CHECKPOINT")


def submit(dsn: str, event_type: str, events: int, customers: int) -> float:
    """events of event_type, round-robin over customers, 1,000 per api.submit_events call."""
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, events, BATCH_SIZE):
            body = [
                {"customer_id": f"cust-{i % customers}", "event_type": event_type, "payload": {"amount": 25000}}
                for i in range(start, min(start + BATCH_SIZE, events))
            ]
            conn.execute("SELECT count(*) FROM api.submit_events(%s::jsonb)", (json.dumps(body),))
    return events / (time.monotonic() - started)


def explain_claim(dsn: str, customers: int, batch: int) -> str:
    """The plan of an ordered claim in the middle of a drain: every customer's first event is in
    flight, the rest are queued behind them. One transaction, rolled back; auto_explain reports the
    nested statements of api.claim_events as notices."""
    notices: list[str] = []
    with psycopg.connect(dsn) as conn:
        conn.execute("LOAD 'auto_explain'")
        held = 0
        while held < customers:
            got = len(conn.execute(CLAIM_SQL, ("bench-explain", min(1000, customers - held))).fetchall())
            if not got:
                break
            held += got
        for setting, value in (
            ("log_min_duration", "0"),
            ("log_analyze", "on"),
            ("log_buffers", "on"),
            ("log_nested_statements", "on"),
            ("log_level", "notice"),
        ):
            conn.execute(
                sql.SQL("SET LOCAL {} = {}").format(sql.Identifier("auto_explain", setting), sql.Literal(value))
            )
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        started = time.perf_counter()
        got = len(conn.execute(CLAIM_SQL, ("bench-explain", batch)).fetchall())
        ms = (time.perf_counter() - started) * 1000
        conn.rollback()
    plans = [n for n in notices if "FROM ledger.events e" in n and "picked" in n]
    header = (
        f"Claim of {batch} with {held:,} customers' first events in flight (of {customers:,}): "
        f"{got} claimed in {ms:.1f} ms."
    )
    return header + "\n\n```\n" + ("\n".join(plans) if plans else "\n".join(notices)).strip() + "\n```"


def run_one(run: Run, dbs: Databases, template: str, login: str, args: argparse.Namespace, plans: list[str]) -> None:
    name = None
    try:
        name = dbs.clone(template)
        if run.key == "raw":
            dbs.execute(
                name,
                "INSERT INTO public.jobs (payload) SELECT jsonb_build_object('n', g)"
                f" FROM generate_series(1, {run.events}) g",
            )
        else:
            ordered = run.key.startswith("ordered")
            rate = submit(dbs.dsn(name), ORDERED_TYPE if ordered else UNORDERED_TYPE, run.events, run.customers)
            log(f"  submitted {run.events:,} events over {run.customers:,} customers ({rate:,.0f}/s)")
            if ordered and args.explain:  # on the statistics the drain will have; rolled back
                settle(dbs, name)
                plans.append(
                    f"{run.label}, {run.customers:,} customers. "
                    + explain_claim(dbs.dsn(name), run.customers, args.batch)
                )
        settle(dbs, name)
        drain(run, make_conninfo(dbs.dsn(name), user=login), args)
        check(run, dbs, name)
    except (psycopg.Error, RuntimeError, OSError) as exc:
        run.error = str(exc).strip()
    finally:
        if name:
            dbs.drop(name)


def check(run: Run, dbs: Databases, name: str) -> None:
    if run.key == "raw":
        done = int(dbs.scalar(name, "SELECT count(*) FROM public.jobs WHERE status = 'done'"))
        if done != run.done and not run.timed_out:
            raise RuntimeError(f"{done:,} rows done, the claimers counted {run.done:,}")
        return
    with psycopg.connect(dbs.dsn(name), autocommit=True) as conn:
        completed, other, claimed, decided, finished = conn.execute(LEDGER_CHECK_SQL).fetchone()
        if run.key.startswith("ordered"):
            run.overlaps = int(conn.execute(OVERLAP_SQL).fetchone()[0])
    if completed != run.done or (claimed, decided, finished) != (run.done,) * 3:
        raise RuntimeError(
            f"{completed:,} completed ({other:,} not), audit rows claim/decide/complete "
            f"{claimed:,}/{decided:,}/{finished:,}, the claimers counted {run.done:,}"
        )
    if not run.timed_out and other:
        raise RuntimeError(f"{other:,} events not completed")
    if run.overlaps:
        raise RuntimeError(f"{run.overlaps:,} ordered events claimed while their customer had one in flight")


# ---------------------------------------------------------------------------------------------
# Output


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


def ratio(a: Run, b: Run | None) -> float | None:
    return a.per_s / b.per_s if b and a.per_s and b.per_s else None


def progress_line(index: int, total: int, run: Run) -> str:
    if run.error:
        return f"[{index}/{total}] {run.label}: ERROR {run.error}"
    return (
        f"[{index}/{total}] {run.label}: {fmt(run.per_s)} events/s, {run.done:,} in "
        f"{fmt(run.seconds, '.2f')} s; claim {fmt(run.claim_ms, '.2f')} ms "
        f"({fmt(run.full_claim_ms, '.2f')} / {fmt(run.empty_claim_ms, '.2f')} empty), {fmt(run.batch_mean, '.1f')} "
        f"per claim, {run.empty_claims:,} empty claims; machine {fmt(run.busy and run.busy * 100)}% busy"
        + ("; STOPPED at --run-limit" if run.timed_out else "")
    )


def table(runs: list[Run]) -> str:
    raw = next((r for r in runs if r.key == "raw" and r.per_s), None)
    head = (
        "| run | customers | events/s | × unordered, same customers | × raw SKIP LOCKED | mean claim call ms "
        "(of claims that got events / found none) | mean events per claim | claims (+ empty) "
        "| mean decide + complete ms | backend CPU ms/event, claim / reports | machine busy |\n"
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"
    )
    lines = [head]
    for r in runs:
        if r.error:
            lines.append(f"| {r.label} | {r.customers or '—'} | error: {r.error.splitlines()[0]} | | | | | | | | |")
            continue
        unordered = next((u for u in runs if u.key == f"unordered:{r.customers}" and u.per_s), None)
        vs_unordered = fmt(ratio(r, unordered), ".2f") if r.key.startswith("ordered") else "—"
        vs_raw = fmt(ratio(r, raw), ".2f") if r.key != "raw" else "(yardstick)"
        cpu = f"{r.claim_cpu_s / r.done * 1000:.3f} / {r.report_cpu_s / r.done * 1000:.3f}" if r.done else "—"
        lines.append(
            f"| {r.label}{' (stopped at the limit)' if r.timed_out else ''} | {fmt(r.customers)} "
            f"| {fmt(r.per_s)} | {vs_unordered} | {vs_raw} | {fmt(r.claim_ms, '.2f')} "
            f"({fmt(r.full_claim_ms, '.2f')} / {fmt(r.empty_claim_ms, '.2f')}) "
            f"| {fmt(r.batch_mean, '.1f')} | {r.claims:,} (+ {r.empty_claims:,}) | {fmt(r.report_ms, '.2f')} "
            f"| {cpu} | {fmt(r.busy and r.busy * 100)}% |"
        )
    return "\n".join(lines)


def code_state() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "db", "sqitch.plan")
    return f"commit {commit}" + (", db/ or sqitch.plan with uncommitted changes" if changed else "")


def describe_server(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "autovacuum", "synchronous_commit", "shared_buffers")
        }
    return (
        ", ".join(f"{k}={v}" for k, v in settings.items())
        + f"; {os.cpu_count()} CPUs shared by the claimers and the server; Python "
        + ".".join(map(str, sys.version_info[:3]))
        + f", psycopg {psycopg.__version__}"
    )


# ---------------------------------------------------------------------------------------------
# Main


def positive_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("counts must be positive")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure agentledger claim + decide + complete throughput (events/s) with and "
        "without per-customer ordering, against a raw SKIP LOCKED queue, with concurrent "
        "claimer processes. Run from the repository root."
    )
    parser.add_argument(
        "--events", type=int, default=20_000, help="events (and raw rows) drained per run (default %(default)s)"
    )
    parser.add_argument(
        "--customers",
        type=positive_list,
        default=[500, 50, 5],
        help="customer counts; each gets an unordered and an ordered run (default 500,50,5)",
    )
    parser.add_argument(
        "--claimers",
        type=int,
        default=4,
        help="concurrent claimer processes, one connection each (default %(default)s)",
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="events (rows) asked for per claim (default %(default)s)"
    )
    parser.add_argument(
        "--idle-ms",
        type=float,
        default=5,
        help="a claimer whose claim found nothing sleeps this long before the next (default %(default)s)",
    )
    parser.add_argument(
        "--run-limit",
        type=float,
        default=60,
        help="stop a run's claimers after this many seconds and report the partial drain (default %(default)s)",
    )
    parser.add_argument(
        "--no-explain", dest="explain", action="store_false", help="skip the auto_explain plan of the ordered claim"
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AGENTLEDGER_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="superuser URL used to create and drop the databases and the role "
        "(env AGENTLEDGER_BENCH_ADMIN_URL; default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.claimers < 1 or not 1 <= args.batch <= BATCH_SIZE:
        parser.error(f"--events and --claimers must be positive, --batch between 1 and {BATCH_SIZE}")
    return args


def run(args: argparse.Namespace, dbs: Databases, roles: list[str]) -> int:
    run_started = time.monotonic()
    state = code_state()
    server = describe_server(args.admin_url)
    log(f"server: {server}; {state}")
    login = f"agentledger_orderbench_{os.getpid()}"
    dbs.execute(None, sql.SQL("CREATE ROLE {} LOGIN IN ROLE agentledger_worker").format(sql.Identifier(login)))
    roles.append(login)
    template = dbs.prefix
    dbs.create(template)
    deploy_with_sqitch(args.admin_url, template)
    dbs.execute(
        template,
        EVENT_TYPES_SQL,
        *JOBS_DDL,
        sql.SQL("GRANT SELECT, UPDATE ON public.jobs TO {}").format(sql.Identifier(login)),
    )
    log(f"deployed template database {template} with sqitch; claimers connect as {login}")

    # The yardstick first, then each customer count's pair, unordered before ordered.
    runs = [Run("raw", f"raw SKIP LOCKED, batch {args.batch}", None, args.events)]
    for c in args.customers:
        runs.append(Run(f"unordered:{c}", "unordered", c, args.events))
        runs.append(Run(f"ordered:{c}", "ordered per customer", c, args.events))
    plans: list[str] = []
    for index, r in enumerate(runs, 1):
        run_one(r, dbs, template, login, args, plans)
        log(progress_line(index, len(runs), r))
        print(
            "RESULT "
            + json.dumps(
                {
                    **asdict(r),
                    "claim_ms": r.claim_ms,
                    "full_claim_ms": r.full_claim_ms,
                    "empty_claim_ms": r.empty_claim_ms,
                    "batch_mean": r.batch_mean,
                    "report_ms": r.report_ms,
                }
            ),
            flush=True,
        )

    print()
    print(f"# Claims with and without per-customer ordering, {time.strftime('%Y-%m-%d')}")
    print()
    print(
        f"{server}; {state}. {args.events:,} events per run, submitted round-robin over the customers; "
        f"{args.claimers} claimer processes (LOGIN role in agentledger_worker), each looping claim of "
        f"{args.batch} → decide (kept lease) → complete until all are completed; an empty claim sleeps "
        f"{args.idle_ms:g} ms. Each run in a fresh clone of a sqitch-deployed template after VACUUM "
        f"ANALYZE and CHECKPOINT (autovacuum is off). Whole run {time.monotonic() - run_started:.0f} s."
    )
    print()
    print(table(runs))
    for plan in plans:
        print()
        print(plan)
    return 1 if any(r.error for r in runs) else 0  # a run stopped at --run-limit is a result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: cleanup runs
    dbs = Databases(args.admin_url)
    dbs.prefix = f"agentledger_orderbench_{os.getpid()}"
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
