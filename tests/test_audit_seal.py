"""Sealing the audit trail while writers are busy, on real connections."""

from __future__ import annotations

import time

import psycopg
import pytest

SUBMIT = "SELECT id FROM api.submit_event('c', 'loan_application', '{}')"
SEAL = "SELECT row_count, last_seq FROM api.seal_audit('ops')"


def test_a_seal_never_waits_for_writers_and_completes_once_they_finish(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as writer, psycopg.connect(fresh_db, autocommit=True) as other:
        writer.execute(SUBMIT)  # transaction left open: its audit row has a seq but is not committed
        other.execute(SUBMIT)  # a later seq, committed at once

        started = time.monotonic()
        assert other.execute(SEAL).fetchone() == (None, None), (
            "no seal yet: a writer holding a seq inside the range is still running"
        )
        assert time.monotonic() - started < 1, "the seal did not wait for the writer"

        other.execute(SUBMIT)  # writers are not held back either
        writer.commit()
        other.execute(SEAL)
        sealed = other.execute(
            "SELECT sum(row_count) = 3 AND max(last_seq) = (SELECT max(seq) FROM ledger.audit_log)"
            " FROM ledger.audit_seals"
        ).fetchone()[0]
        assert sealed, "the next call seals everything, the row that committed late included"
        assert other.execute("SELECT ok, problem FROM api.verify_audit()").fetchone() == (True, None)


def test_a_seal_after_writing_in_the_same_transaction_covers_its_own_rows(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(SUBMIT)
        assert conn.execute(SEAL).fetchone()[0] == 1


@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_seal_is_refused_at_stricter_isolation(fresh_db: str, level: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        conn.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT api.seal_audit('test')")
    assert refused.value.sqlstate == "AL014"


def test_a_client_role_cannot_move_the_clock(fresh_db: str, login_as) -> None:
    api = login_as(fresh_db, "agentledger_api")
    with psycopg.connect(api, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT api.submit_event('c', 'loan_application', '{}', p_now => '2001-01-01')")
        assert refused.value.sqlstate == "42501", "a client cannot back-date what it submits"
        conn.execute(SUBMIT)  # the default, now(), is accepted


@pytest.mark.stress  # sealers racing writers
@pytest.mark.parametrize("sealer_writes", [False, True], ids=["sealer-only-seals", "sealer-writes-then-seals"])
def test_seals_taken_while_writers_race_all_verify(fresh_db: str, sealer_writes: bool) -> None:
    """Writers and a sealer running at once for a few seconds: every row ends up in exactly one
    seal and the trail verifies (a seal that skipped a late-committing row would not)."""
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        event_id = conn.execute(SUBMIT).fetchone()[0]
                        conn.execute("SELECT api.transition_event(%s, 'processing')", [event_id])
        except BaseException as exc:
            errors.append(exc)

    def seal() -> None:
        try:
            with psycopg.connect(fresh_db, autocommit=True) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        if sealer_writes:
                            conn.execute(SUBMIT)
                        conn.execute(SEAL)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=seal)]
    for t in threads:
        t.start()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(SEAL)
        conn.execute(SEAL)  # the first may still have found a writer finishing
        seals, sealed, rows = conn.execute(
            "SELECT (SELECT count(*) FROM ledger.audit_seals), (SELECT sum(row_count) FROM ledger.audit_seals),"
            "       (SELECT count(*) FROM ledger.audit_log)"
        ).fetchone()
        assert seals > 5 and sealed == rows, (seals, sealed, rows)
        assert conn.execute("SELECT ok, problem FROM api.verify_audit()").fetchone() == (True, None)
