"""The wake-up NOTIFY on channel agentledger_work, received by a real LISTENing connection."""

from __future__ import annotations

import json

import psycopg

from agentledger_worker.channels import WORK_CHANNEL

CHANNEL = WORK_CHANNEL

BATCH = """SELECT count(*) FROM api.submit_events(
    (SELECT jsonb_agg(jsonb_build_object('customer_id', 'cust-' || g, 'event_type', %s::text,
                                         'payload', jsonb_build_object('secret', 'acct-' || g)))
       FROM generate_series(1, %s) g))"""


def listen(conninfo: str) -> psycopg.Connection:
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    return conn


def drain(conn: psycopg.Connection, timeout: float = 1.0) -> list[psycopg.Notify]:
    """Every notification that arrives before `timeout` seconds pass without one."""
    received = []
    while True:
        batch = list(conn.notifies(timeout=timeout, stop_after=1))
        if not batch:
            return received
        received.extend(batch)


def set_throttle(conninfo: str, interval: str) -> None:
    with psycopg.connect(conninfo) as conn:
        conn.execute("UPDATE ledger.settings SET notify_throttle = %s::interval", [interval])


def test_a_batch_of_1000_sends_one_small_notification(fresh_db: str) -> None:
    with listen(fresh_db) as listener, psycopg.connect(fresh_db) as submitter:
        submitter.execute(BATCH, ["loan_application", 1000])
        submitter.execute(BATCH, ["fraud_alert", 3])
        submitter.commit()
        received = drain(listener)
    assert [n.channel for n in received] == [CHANNEL, CHANNEL], "one notification per statement"
    payloads = [json.loads(n.payload) for n in received]
    assert payloads == [{"queued": {"loan_application": 1000}}, {"queued": {"fraud_alert": 3}}]
    assert all("acct-" not in n.payload and "cust-" not in n.payload for n in received), (
        "the payload carries no customer data"
    )


def test_nothing_is_announced_before_commit_or_after_rollback(fresh_db: str) -> None:
    with listen(fresh_db) as listener, psycopg.connect(fresh_db) as submitter:
        submitter.execute(BATCH, ["loan_application", 5])
        assert drain(listener, timeout=0.3) == [], "not before commit"
        submitter.rollback()
        assert drain(listener, timeout=0.3) == [], "not for rolled-back work"


def test_scheduled_work_is_not_announced(fresh_db: str) -> None:
    with listen(fresh_db) as listener, psycopg.connect(fresh_db, autocommit=True) as submitter:
        submitter.execute("SELECT api.submit_event('c', 'loan_application', '{}', 0, now() + interval '1 hour')")
        assert drain(listener, timeout=0.3) == []


def test_requeue_announces_work_again(fresh_db: str) -> None:
    set_throttle(fresh_db, "0")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        event_id = conn.execute("SELECT id FROM api.submit_event('c', 'fraud_alert', '{}')").fetchone()[0]
        conn.execute("SELECT api.cancel_event(%s, 'duplicate alert')", [event_id])
        with listen(fresh_db) as listener:
            conn.execute("SELECT api.requeue_event(%s, 'not a duplicate after all')", [event_id])
            received = drain(listener, timeout=0.5)
    assert [json.loads(n.payload) for n in received] == [{"queued": {"fraud_alert": 1}}]


def test_single_submits_are_throttled_per_event_type(fresh_db: str) -> None:
    submits = 50
    set_throttle(fresh_db, "10 seconds")
    with listen(fresh_db) as listener, psycopg.connect(fresh_db, autocommit=True) as submitter:
        for _ in range(submits):
            submitter.execute("SELECT api.submit_event('c', 'loan_application', '{}')")
        submitter.execute("SELECT api.submit_event('c', 'fraud_alert', '{}')")
        received = [json.loads(n.payload) for n in drain(listener, timeout=0.5)]
    assert received == [{"queued": {"loan_application": 1}}, {"queued": {"fraud_alert": 1}}], (
        "one wake-up per type within the throttle interval"
    )

    set_throttle(fresh_db, "0")
    with listen(fresh_db) as listener, psycopg.connect(fresh_db, autocommit=True) as submitter:
        for _ in range(submits):
            submitter.execute("SELECT api.submit_event('c', 'loan_application', '{}')")
        received = drain(listener, timeout=0.5)
    assert len(received) == submits, "with no throttle every submit notifies"


def test_a_submitter_never_waits_for_another_submitters_wakeup(fresh_db: str) -> None:
    # The first submitter's transaction stays open holding its wake-up row; a second submit of the
    # same type must neither wait for it nor time out.
    set_throttle(fresh_db, "50 milliseconds")
    with psycopg.connect(fresh_db) as first, psycopg.connect(fresh_db, autocommit=True) as second:
        first.execute("SELECT api.submit_event('c', 'loan_application', '{}')")
        second.execute("SET lock_timeout = '1s'")
        second.execute("SELECT api.submit_event('c', 'loan_application', '{}')")
        first.rollback()
