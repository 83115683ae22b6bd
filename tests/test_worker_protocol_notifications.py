"""Wake-ups from the worker protocol: every way an event becomes claimable again announces it on
channel agentledger_work, received by a real LISTENing connection."""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import UUID

import psycopg

from agentledger_worker.channels import WORK_CHANNEL

CHANNEL = WORK_CHANNEL
WORKER = "notified-worker"
END = "end of test"  # sent last: everything announced before it has arrived once it does

CLAIM = "SELECT id, lease_token FROM api.claim_events(%s, 1, ARRAY[%s::text])"
RELEASE = "SELECT * FROM api.release_events(ARRAY[%s::bigint], ARRAY[%s::uuid])"
RETRYABLE_FAIL = """SELECT * FROM api.fail_events(ARRAY[%s::bigint], ARRAY[%s::uuid],
                                                   ARRAY['model timed out'])"""
HEARTBEAT = "SELECT * FROM api.heartbeat_events(ARRAY[%s::bigint], ARRAY[%s::uuid])"
COMPLETE = "SELECT * FROM api.complete_events(ARRAY[%s::bigint], ARRAY[%s::uuid])"
DECIDE = """SELECT * FROM api.decide_events(ARRAY[%s::bigint], ARRAY[%s::uuid], ARRAY['approved'],
                                            p_keep_lease => %s)"""
# The superuser moves the clock past every lease; only one event holds a lease at each rescue.
RESCUE = "SELECT * FROM api.rescue_expired_leases(1000, now() + interval '1 hour')"


def connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True)


def submit(conn: psycopg.Connection, event_type: str, count: int) -> None:
    conn.execute(
        """SELECT count(*) FROM api.submit_events(
               (SELECT jsonb_agg(jsonb_build_object('customer_id', 'cust-' || g,
                                                    'event_type', %s::text, 'payload', '{}'::jsonb))
                  FROM generate_series(1, %s::integer) g))""",
        [event_type, count],
    )


def report(conn: psycopg.Connection, statement: str, *params: object) -> None:
    """Send a one-event report and insist it was accepted: a missing wake-up is never a refusal."""
    row = conn.execute(statement, params).fetchone()
    assert row is not None and row[1] == "done", row


def received_until_end(listener: psycopg.Connection) -> list[dict]:
    """The payloads that arrived before the END marker (all of them: notifications of committed
    transactions arrive in commit order)."""
    payloads = []
    for notify in listener.notifies(timeout=10):
        if notify.payload == END:
            return payloads
        payloads.append(json.loads(notify.payload))
    raise AssertionError(f"the end marker did not arrive; received {payloads}")


def test_work_that_becomes_claimable_again_wakes_the_workers(fresh_db: str, login_as) -> None:
    """With the wake-up throttle off and a zero retry back-off, each way a claimed event becomes
    claimable again sends one notification naming its event type: release, the rescue of an
    expired lease in processing, and a retryable failure put it back in the queue ({"queued": ...});
    a decision handed off without the lease, the rescue of a decided event's expired lease, and
    the release or retryable failure of a decided event offer its action ({"actions": ...}).
    Claims, heartbeats, a decision that keeps its lease and a completion announce nothing: the
    notifications received, up to an end marker sent last, are exactly the expected ones, in
    order."""
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    with connect(fresh_db) as admin:
        admin.execute("UPDATE ledger.settings SET notify_throttle = '0', retry_base_delay = '0'")
    with connect(worker_dsn) as worker, connect(fresh_db) as rescuer, connect(fresh_db) as listener:
        submit(worker, "loan_application", 5)
        submit(worker, "fraud_alert", 5)
        listener.execute(f"LISTEN {CHANNEL}")
        expected: list[dict] = []

        def step(event_type: str, handle: Callable[[int, UUID], None], *announced: str) -> None:
            """Claim one event of event_type, handle it, and expect the given notifications."""
            event_id, token = worker.execute(CLAIM, [WORKER, event_type]).fetchone()
            handle(event_id, token)
            expected.extend({kind: {event_type: 1}} for kind in announced)

        def release(event_id: int, token: UUID) -> None:
            report(worker, RELEASE, event_id, token)

        def fail(event_id: int, token: UUID) -> None:
            report(worker, RETRYABLE_FAIL, event_id, token)

        def hand_off(event_id: int, token: UUID) -> None:
            report(worker, DECIDE, event_id, token, False)

        def rescue(event_id: int, _: UUID) -> None:
            rows = rescuer.execute(RESCUE).fetchall()
            assert [(r[0], r[1]) for r in rows] == [(event_id, "done")]

        def decided(then: Callable[[int, UUID], None]) -> Callable[[int, UUID], None]:
            """Decide the event keeping the lease (which announces nothing), then do `then`."""

            def handle(event_id: int, token: UUID) -> None:
                report(worker, DECIDE, event_id, token, True)
                then(event_id, token)

            return handle

        def finish_quietly(event_id: int, token: UUID) -> None:
            for statement, *extra in ((HEARTBEAT,), (DECIDE, True), (COMPLETE,)):
                report(worker, statement, event_id, token, *extra)

        step("fraud_alert", release, "queued")
        step("loan_application", rescue, "queued")
        step("loan_application", fail, "queued")
        step("fraud_alert", hand_off, "actions")
        step("loan_application", decided(rescue), "actions")
        step("fraud_alert", decided(release), "actions")
        step("loan_application", decided(fail), "actions")
        step("fraud_alert", finish_quietly)
        worker.execute("SELECT pg_notify(%s, %s)", [CHANNEL, END])

        assert received_until_end(listener) == expected
