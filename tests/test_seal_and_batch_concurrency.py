"""Concurrency and availability on real connections: client roles must not be able to stall every
writer, and concurrent idempotent batches must end in one event per key and clean replays."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

SEAL_LOCK = "SELECT pg_advisory_lock(hashtextextended('agentledger.audit_seal', 0))"
SUBMIT = "SELECT id FROM api.submit_event('edge-c', 'loan_application', '{}')"


def writer_with_timeout(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET lock_timeout = '2s'")  # the api role carries 5 s; shorter keeps the test quick
    return conn


@pytest.mark.parametrize("lock", ["pg_advisory_lock", "pg_advisory_lock_shared"])
def test_a_read_only_auditor_session_cannot_stall_the_writers(fresh_db: str, login_as, lock: str) -> None:
    auditor = login_as(fresh_db, "agentledger_auditor")
    api = login_as(fresh_db, "agentledger_api")
    worker = login_as(fresh_db, "agentledger_worker")
    with psycopg.connect(auditor, autocommit=True) as idle_auditor:
        # Any role may call the advisory-lock functions, and the key is a constant.
        idle_auditor.execute(SEAL_LOCK.replace("pg_advisory_lock", lock))
        with writer_with_timeout(api) as writer, writer_with_timeout(worker) as sealer:
            try:
                writer.execute(SUBMIT)
                sealer.execute("SELECT api.seal_audit('ops')")
            except psycopg.Error as exc:
                pytest.fail(f"an idle auditor session blocked a writer or the seal: {exc.sqlstate} {exc}")


def test_an_open_seal_transaction_does_not_block_every_writer(fresh_db: str, login_as) -> None:
    auditor = login_as(fresh_db, "agentledger_auditor")
    api = login_as(fresh_db, "agentledger_api")
    with psycopg.connect(fresh_db, autocommit=True) as admin:
        admin.execute(SUBMIT)  # something to seal
    with psycopg.connect(auditor) as sealing:  # not autocommit: the seal's transaction stays open
        sealing.execute("SELECT api.seal_audit('ops')")
        with writer_with_timeout(api) as writer:
            try:
                writer.execute(SUBMIT)
            except psycopg.Error as exc:
                pytest.fail(f"an auditor's open seal transaction blocked a submit: {exc.sqlstate} {exc}")
        sealing.rollback()


def batch(keys: list[str]) -> str:
    return json.dumps(
        [
            {"customer_id": "edge-idem", "event_type": "loan_application", "payload": {"k": k}, "idempotency_key": k}
            for k in keys
        ]
    )


@pytest.mark.stress  # racing batches
def test_concurrent_batches_with_the_same_keys_give_replays_not_deadlocks(fresh_db: str) -> None:
    outcomes: list[str] = []
    for round_ in range(5):
        keys = [f"r{round_}-{i}" for i in range(300)]
        barrier = threading.Barrier(2)

        def submit(order: list[str], barrier: threading.Barrier = barrier) -> None:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                barrier.wait()
                try:
                    conn.execute("SELECT * FROM api.submit_events(%s)", [batch(order)]).fetchall()
                    outcomes.append("ok")
                except psycopg.Error as exc:
                    outcomes.append(exc.sqlstate or "?")

        threads = [threading.Thread(target=submit, args=(keys,)), threading.Thread(target=submit, args=(keys[::-1],))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert set(outcomes) == {"ok"}, f"a retried batch with its items in another order failed: {outcomes}"
    with psycopg.connect(fresh_db) as conn:
        assert (
            conn.execute("SELECT count(*) FROM ledger.events WHERE customer_id = 'edge-idem'").fetchone()[0] == 5 * 300
        )
