"""Submits from one Python process, the way the job-queue libraries' own enqueue benchmarks run.

pgbench (bench/submit_bench.py) shows what the server sustains; this shows what one application
process gets: N single submits, one transaction each, then N events in batches of B — beside the
same loop doing a plain INSERT, measured in the same run. Prints one `RESULT {json}` line per mode.

    .venv/bin/python bench/client_submit.py -n 20000 -b 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("AGENTLEDGER_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PAYLOAD = '{"amount": 25000, "term_months": 36}'


def create_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    target = f"db:pg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/{name}"
    subprocess.run(["sqitch", "deploy", "--target", target], cwd=ROOT, check=True, capture_output=True)
    dsn = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " customer_id text, event_type text, payload jsonb, created_at timestamptz DEFAULT now())"
        )
    return dsn


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed(label: str, n: int, run) -> dict:
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    result = {"mode": label, "n": n, "seconds": round(seconds, 3), "per_s": round(n / seconds)}
    print("RESULT " + json.dumps(result), flush=True)
    print(f"{label}: {result['per_s']:,}/s", file=sys.stderr)
    return result


def vacuum(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # autovacuum may be off: keep phases comparable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="events per mode (default 20,000)")
    parser.add_argument("-b", type=int, default=1_000, help="batch size (default 1,000)")
    args = parser.parse_args()
    name = f"agentledger_bench_client_{os.getpid()}"
    dsn = create_database(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            insert = "INSERT INTO plain (customer_id, event_type, payload) VALUES (%s, 'loan_application', %s::jsonb)"
            submit = "SELECT id FROM api.submit_event(%s, 'loan_application', %s::jsonb)"
            batch = (
                "SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object("
                "'customer_id', 'cust-' || g, 'event_type', 'loan_application', 'payload', %s::jsonb))"
                " FROM generate_series(1, %s) g))"
            )
            results = [
                timed(
                    "plain INSERT, 1 per transaction",
                    args.n,
                    lambda: [conn.execute(insert, [f"cust-{i}", PAYLOAD], prepare=True) for i in range(args.n)],
                ),
            ]
            vacuum(dsn)
            results.append(
                timed(
                    "api.submit_event, 1 per transaction",
                    args.n,
                    lambda: [conn.execute(submit, [f"cust-{i}", PAYLOAD], prepare=True) for i in range(args.n)],
                )
            )
            vacuum(dsn)
            results.append(
                timed(
                    f"api.submit_events, batches of {args.b}",
                    args.n,
                    lambda: [conn.execute(batch, [PAYLOAD, args.b], prepare=True) for _ in range(args.n // args.b)],
                )
            )
        print(f"single submit / plain INSERT = {results[1]['per_s'] / results[0]['per_s']:.2f}", file=sys.stderr)
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
