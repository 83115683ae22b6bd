"""Per-customer ordering under real concurrency: 8 claimers over 10,000 ordered events of 500
customers never hold two events of one customer at once, and claim each customer's events in
submission order; unordered events of the same customers go on in parallel."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import defaultdict

import psycopg
import pytest

from agentledger_worker.channels import WORK_CHANNEL
from tests.support import databases
from tests.support.docs import code_blocks, section
from tests.support.workers import sql

CUSTOMERS = 500
ORDERED = 10_000
CLAIMERS = 8


ORDERED_TYPE = """INSERT INTO ledger.event_types (name, description, ordered_per_customer)
                  VALUES ('tests_ordered', 'ordered per customer', true)"""


def finish(conn: psycopg.Connection, claims: list[tuple]) -> None:
    """Decide (approved) and complete the claimed events, as a worker does."""
    ids, tokens = [c[0] for c in claims], [c[1] for c in claims]
    conn.execute("SELECT count(*) FROM api.decide_events(%s, %s, %s)", [ids, tokens, ["approved"] * len(ids)])
    conn.execute("SELECT count(*) FROM api.complete_events(%s, %s)", [ids, tokens])


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
                finish(conn, claims)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def test_ordered_events_are_held_one_at_a_time_per_customer_in_submission_order(fresh_db, login_as):
    sql(fresh_db, ORDERED_TYPE)
    for first in range(0, ORDERED, 1000):
        sql(
            fresh_db,
            """SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object(
                             'customer_id', 'cust-' || (g %% %s), 'event_type', 'tests_ordered', 'payload', '{}'::jsonb) ORDER BY g)
                             FROM generate_series(%s::int, %s::int) g))""",
            CUSTOMERS,
            first,
            first + 999,
        )
    sql(
        fresh_db,
        """SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object(
                         'customer_id', 'cust-' || (g %% %s), 'event_type', 'fraud_alert', 'payload', '{}'::jsonb))
                         FROM generate_series(1, 1000) g))""",
        CUSTOMERS,
    )
    # Each claimer is a worker of its own: a login acting for its own principal.
    workers = [login_as(fresh_db, "agentledger_worker") for _ in range(CLAIMERS)]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=drain, args=(w, f"claimer-{i}", errors)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert sql(fresh_db, "SELECT status::text, count(*) FROM ledger.events GROUP BY 1") == [
        ("completed", ORDERED + 1000)
    ]

    held: dict[str, int] = defaultdict(int)
    claimed: dict[str, list[int]] = defaultdict(list)
    overlaps = 0
    for customer, event_id, to_status in sql(
        fresh_db,
        """
            SELECT a.customer_id, a.event_id, a.to_status::text FROM ledger.audit_log a
              JOIN ledger.events e ON e.id = a.event_id
             WHERE e.ordered AND a.to_status IN ('processing', 'completed') ORDER BY a.seq""",
    ):
        if to_status == "processing":
            held[customer] += 1
            overlaps += held[customer] > 1
            claimed[customer].append(event_id)
        else:
            held[customer] -= 1
    assert overlaps == 0, "two ordered events of one customer were held at once"
    assert len(claimed) == CUSTOMERS and all(ids == sorted(ids) for ids in claimed.values()), (
        "each customer's ordered events were claimed in submission order"
    )
    # The unordered events were not held back: some ran while an ordered event of their customer was held.
    assert (
        sql(
            fresh_db,
            """SELECT count(DISTINCT a.actor) FROM ledger.audit_log a JOIN ledger.events e ON e.id = a.event_id
                             WHERE NOT e.ordered AND a.to_status = 'processing'""",
        )[0][0]
        > 1
    )


def test_the_readme_ordering_statement_marks_the_types(fresh_db):
    [block] = code_blocks(section("Per-customer ordering"), "sql")
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", fresh_db],
        input=block,
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)
    assert sql(fresh_db, "SELECT name FROM ledger.event_types WHERE ordered_per_customer ORDER BY 1") == [
        ("fraud_alert",),
        ("loan_application",),
    ]


LINES = 12
ROUNDS = 40


def submit_rounds(dsn: str, name: str, seed: int, errors: list[BaseException]) -> None:
    """ROUNDS batches, each with one ordered event for every customer, customers in a shuffled order:
    batches of different submitters take the same lines in different orders at the same time."""
    rng = random.Random(seed)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for round_ in range(ROUNDS):
                customers = [f"line-{c}" for c in range(LINES)]
                rng.shuffle(customers)
                conn.execute(
                    """SELECT count(*) FROM api.submit_events((SELECT jsonb_agg(jsonb_build_object(
                                    'customer_id', c, 'event_type', 'tests_ordered',
                                    'payload', jsonb_build_object('submitter', %s::text, 'round', %s::int)) ORDER BY n)
                                  FROM unnest(%s::text[]) WITH ORDINALITY AS u (c, n)))""",
                    [name, round_, customers],
                )
                time.sleep(rng.random() / 200)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def drain_until(dsn: str, admin: str, name: str, total: int, deadline: float, errors: list[BaseException]) -> None:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(admin, autocommit=True) as counter:
            while time.monotonic() < deadline:
                claims = conn.execute("SELECT id, lease_token FROM api.claim_events(%s, 20)", [name]).fetchall()
                if not claims:
                    done = counter.execute("SELECT count(*) FROM ledger.events WHERE status = 'completed'").fetchone()[
                        0
                    ]
                    if done == total:
                        return
                    time.sleep(0.002)
                    continue
                finish(conn, claims)
    except BaseException as exc:  # reported by the test
        errors.append(exc)


@pytest.mark.stress  # racing submits and completions
def test_submits_racing_completions_of_the_same_customers_neither_stall_nor_deadlock(fresh_db, login_as):
    """Three submitters add ordered events to 12 customers while four claimers finish them: a line
    whose last event completes just as a new one arrives must still hand the new one on (else it
    waits for ever), batches that take lines in different orders must not deadlock, and one
    submitter's events of a customer are claimed in the order it submitted them."""
    sql(fresh_db, ORDERED_TYPE)
    total = 3 * ROUNDS * LINES
    submitters = [login_as(fresh_db, "agentledger_api", "service") for _ in range(3)]
    claimers = [login_as(fresh_db, "agentledger_worker") for _ in range(4)]
    errors: list[BaseException] = []
    deadline = time.monotonic() + 120
    threads = [
        threading.Thread(target=submit_rounds, args=(api, f"submitter-{i}", i, errors))
        for i, api in enumerate(submitters)
    ]
    threads += [
        threading.Thread(target=drain_until, args=(worker, fresh_db, f"claimer-{i}", total, deadline, errors))
        for i, worker in enumerate(claimers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    assert not errors, errors
    stuck = sql(
        fresh_db,
        """SELECT customer_id, id, status::text, first_in_line FROM ledger.events
                              WHERE status <> 'completed' ORDER BY id LIMIT 5""",
    )
    assert not stuck, f"events never finished: {stuck}"
    assert sql(fresh_db, "SELECT count(*) FROM ledger.events WHERE status = 'completed'") == [(total,)]

    held: dict[str, int] = defaultdict(int)
    rounds_seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    overlaps = 0
    for customer, submitter, round_, to_status in sql(
        fresh_db,
        """
            SELECT a.customer_id, e.payload ->> 'submitter', (e.payload ->> 'round')::int, a.to_status::text
              FROM ledger.audit_log a JOIN ledger.events e ON e.id = a.event_id
             WHERE a.to_status IN ('processing', 'completed') ORDER BY a.seq""",
    ):
        if to_status == "processing":
            held[customer] += 1
            overlaps += held[customer] > 1
            rounds_seen[customer, submitter].append(round_)
        else:
            held[customer] -= 1
    assert overlaps == 0, "two ordered events of one customer were held at once"
    assert all(rounds == list(range(ROUNDS)) for rounds in rounds_seen.values()), (
        "a submitter's events of one customer were claimed out of the order it submitted them"
    )


def test_completing_a_customers_first_event_wakes_workers_for_the_next(fresh_db, login_as):
    """A worker waiting on LISTEN hears of the customer's next ordered event as soon as the one
    before it completes, instead of finding it at its next poll."""
    sql(fresh_db, ORDERED_TYPE)
    sql(fresh_db, "UPDATE ledger.settings SET notify_throttle = '0'")
    worker = login_as(fresh_db, "agentledger_worker")
    sql(
        fresh_db,
        """SELECT count(*) FROM api.submit_events('[{"customer_id": "cust-n", "event_type": "tests_ordered", "payload": {}},
                                                            {"customer_id": "cust-n", "event_type": "tests_ordered", "payload": {}}]')""",
    )
    with psycopg.connect(worker, autocommit=True) as conn, psycopg.connect(worker, autocommit=True) as listener:
        [(first, token)] = conn.execute("SELECT id, lease_token FROM api.claim_events('w', 10)").fetchall()
        assert conn.execute("SELECT count(*) FROM api.claim_events('w', 10)").fetchone() == (0,), "the second waits"
        listener.execute(f"LISTEN {WORK_CHANNEL}")
        conn.execute("SELECT count(*) FROM api.decide_events(%s, %s, '{approved}')", [[first], [token]])
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == [], "a decision frees nobody's turn"
        conn.execute("SELECT count(*) FROM api.complete_events(%s, %s)", [[first], [token]])
        [woken] = list(listener.notifies(timeout=5, stop_after=1))
        assert json.loads(woken.payload) == {"queued": {"tests_ordered": 1}}
        assert len(conn.execute("SELECT id FROM api.claim_events('w', 10)").fetchall()) == 1


def test_a_repeatable_read_submit_that_missed_a_line_change_must_retry(fresh_db, login_as):
    """A transaction whose snapshot predates the last change of a customer's line could misjudge it
    (see no open event, or one already finished): it gets a serialization failure instead."""
    sql(fresh_db, ORDERED_TYPE)
    api = login_as(fresh_db, "agentledger_api")
    submit_one = """SELECT id FROM api.submit_event('cust-rr', 'tests_ordered', '{}')"""
    with psycopg.connect(api) as late, psycopg.connect(api, autocommit=True) as other:
        late.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        late.execute("SELECT 1")  # the snapshot is taken here
        [(first,)] = other.execute(submit_one).fetchall()
        with pytest.raises(psycopg.errors.SerializationFailure):
            late.execute(submit_one)
        late.rollback()
        late.execute(submit_one)  # retried with a new snapshot, it goes through and waits behind the first
        late.commit()
    assert sql(fresh_db, "SELECT id = %s, first_in_line FROM ledger.events ORDER BY id", first) == [
        (True, True),
        (False, False),
    ]
