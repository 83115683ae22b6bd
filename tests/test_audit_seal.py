"""Sealing the audit trail while writers are busy, on real connections."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest


def submit(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT id FROM api.submit_event('c', 'loan_application', '{}')").fetchone()[0]


def test_a_seal_waits_for_open_writers_and_covers_their_rows(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as writer, psycopg.connect(fresh_db, autocommit=True) as other:
        submit(writer)  # transaction left open: its audit row has a seq but is not committed
        submit(other)  # a later seq, committed at once

        sealed: list[tuple] = []

        def seal() -> None:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                sealed.append(
                    conn.execute("SELECT row_count, last_seq FROM api.seal_audit('test')").fetchone()
                )

        sealer = threading.Thread(target=seal)
        sealer.start()
        time.sleep(0.5)
        assert sealer.is_alive(), "the seal waits while a writer is still open"
        writer.commit()
        sealer.join(10)

        assert sealed == [(2, 2)], "the seal covers the row that committed while it waited"
        assert other.execute("SELECT ok, problem FROM api.verify_audit()").fetchone() == (True, None)


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_seal_is_refused_at_stricter_isolation(fresh_db: str, level: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT api.seal_audit('test')")
    assert refused.value.sqlstate == "AL014"
