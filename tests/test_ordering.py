"""Per-customer ordering under real concurrency: 8 claimers over 10,000 ordered events of 500
customers never hold two events of one customer at once, and claim each customer's events in
submission order; unordered events of the same customers go on in parallel."""

from __future__ import annotations

import re
import subprocess
import threading
from collections import defaultdict

import psycopg

from tests.support import databases
from tests.support.workers import sql

CUSTOMERS = 500
ORDERED = 10_000
CLAIMERS = 8


def drain(dsn: str, name: str, errors: list[BaseException]) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            idle = 0
            while idle < 20:
                claims = conn.execute("SELECT id, lease_token FROM api.claim_events(%s, 50)", [name]).fetchall()
                if not claims:
                    idle += 1
                    conn.execute("SELECT pg_sleep(0.01)")
                    continue
                idle = 0
                ids, tokens = [c[0] for c in claims], [c[1] for c in claims]
                conn.execute("SELECT count(*) FROM api.decide_events(%s, %s, %s)", [ids, tokens, ["approved"] * len(ids)])
                conn.execute("SELECT count(*) FROM api.complete_events(%s, %s)", [ids, tokens])
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_ordered_events_are_held_one_at_a_time_per_customer_in_submission_order(fresh_db, login_as):
    sql(fresh_db, """INSERT INTO ledger.event_types (name, description, ordered_per_customer)
                     VALUES ('tests_ordered', 'ordered per customer', true)""")
    for first in range(0, ORDERED, 1000):
        sql(fresh_db, """SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object(
                             'customer_id', 'cust-' || (g %% %s), 'event_type', 'tests_ordered', 'payload', '{}'::jsonb) ORDER BY g)
                             FROM generate_series(%s::int, %s::int) g))""", CUSTOMERS, first, first + 999)
    sql(fresh_db, """SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object(
                         'customer_id', 'cust-' || (g %% %s), 'event_type', 'fraud_alert', 'payload', '{}'::jsonb))
                         FROM generate_series(1, 1000) g))""", CUSTOMERS)
    worker = login_as(fresh_db, "agentledger_worker")
    errors: list[BaseException] = []
    threads = [threading.Thread(target=drain, args=(worker, f"claimer-{i}", errors)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert sql(fresh_db, "SELECT status::text, count(*) FROM ledger.events GROUP BY 1") == [("completed", ORDERED + 1000)]

    held: dict[str, int] = defaultdict(int)
    claimed: dict[str, list[int]] = defaultdict(list)
    overlaps = 0
    for customer, event_id, to_status in sql(fresh_db, """
            SELECT a.customer_id, a.event_id, a.to_status::text FROM ledger.audit_log a
              JOIN ledger.events e ON e.id = a.event_id
             WHERE e.ordered AND a.to_status IN ('processing', 'completed') ORDER BY a.seq"""):
        if to_status == "processing":
            held[customer] += 1
            overlaps += held[customer] > 1
            claimed[customer].append(event_id)
        else:
            held[customer] -= 1
    assert overlaps == 0, "two ordered events of one customer were held at once"
    assert len(claimed) == CUSTOMERS and all(ids == sorted(ids) for ids in claimed.values()), \
        "each customer's ordered events were claimed in submission order"
    # The unordered events were not held back: some ran while an ordered event of their customer was held.
    assert sql(fresh_db, """SELECT count(DISTINCT a.actor) FROM ledger.audit_log a JOIN ledger.events e ON e.id = a.event_id
                             WHERE NOT e.ordered AND a.to_status = 'processing'""")[0][0] > 1


def test_the_readme_ordering_statement_marks_the_types(fresh_db):
    readme = (databases.REPO_ROOT / "README.md").read_text()
    section = re.search(r"^## Per-customer ordering\n(.*?)(?=^## )", readme, flags=re.MULTILINE | re.DOTALL).group(1)
    [block] = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    result = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", fresh_db], input=block,
                            env=databases.client_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0, databases.describe(result)
    assert sql(fresh_db, "SELECT name FROM ledger.event_types WHERE ordered_per_customer ORDER BY 1") == [
        ("fraud_alert",), ("loan_application",)]
