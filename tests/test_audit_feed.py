"""Following the audit trail live (api.audit_feed_position, api.audit_feed): a reader that only
delivers up to a final position never skips a row whose transaction commits after a higher seq."""

from __future__ import annotations

import psycopg
import pytest

SUBMIT = "SELECT id FROM api.submit_event('cust-feed', 'loan_application', '{\"n\": 1}')"


def position(conn: psycopg.Connection, waiting: list[str]) -> tuple[int, list[str], list[str]]:
    return conn.execute("SELECT * FROM api.audit_feed_position(%s)", [waiting]).fetchone()


def feed(conn: psycopg.Connection, after: int, up_to: int) -> list[tuple[int, int]]:
    return conn.execute("SELECT seq, event_id FROM api.audit_feed(%s, %s, 1000)", [after, up_to]).fetchall()


def test_a_late_commit_is_delivered_before_the_position_is_final(fresh_db: str, login_as) -> None:
    api_dsn = login_as(fresh_db, "agentledger_api")
    with (
        psycopg.connect(api_dsn, autocommit=True) as reader,
        psycopg.connect(api_dsn) as slow,
        psycopg.connect(api_dsn, autocommit=True) as fast,
    ):
        start, _, _ = position(reader, [])
        slow_id = slow.execute(SUBMIT).fetchone()[0]  # draws a seq, does not commit yet
        fast_id = fast.execute(SUBMIT).fetchone()[0]  # a higher seq, committed at once

        last_seq, writers, _ = position(reader, [])
        assert writers, "the open transaction is listed as writing audit rows"
        assert [e for _, e in feed(reader, start, last_seq)] == [fast_id], (
            "read too early, the feed would show the later row alone"
        )
        _, _, still = position(reader, writers)
        assert still == writers, "so the position is not final while that writer runs"

        slow.commit()
        _, _, still = position(reader, writers)
        assert still == [], "once the writer has ended, the position is final"
        assert [e for _, e in feed(reader, start, last_seq)] == [slow_id, fast_id], (
            "and the feed up to it holds both rows, in seq order"
        )


def test_feed_arguments_are_checked(fresh_db: str, login_as) -> None:
    with psycopg.connect(login_as(fresh_db, "agentledger_api"), autocommit=True) as conn:
        for args in ([-1, 10, 10], [0, 10, 0], [0, 10, 1001], [None, 10, 10]):
            with pytest.raises(psycopg.Error) as refused:
                conn.execute("SELECT * FROM api.audit_feed(%s, %s, %s)", args)
            assert refused.value.sqlstate == "AL019"


def test_workers_may_not_read_the_feed(fresh_db: str, login_as) -> None:
    with (
        psycopg.connect(login_as(fresh_db, "agentledger_worker"), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM api.audit_feed(0, 10)")


def test_a_claim_that_finds_nothing_holds_up_no_reader(fresh_db: str, login_as) -> None:
    """A worker polling in an open transaction (psycopg's default) must not look like a writer of
    audit rows: its no-op claim takes no lock on the audit table."""
    with (
        psycopg.connect(login_as(fresh_db, "agentledger_api"), autocommit=True) as reader,
        psycopg.connect(login_as(fresh_db, "agentledger_worker")) as poller,
    ):
        assert poller.execute("SELECT count(*) FROM api.claim_events('idle-worker', 10)").fetchone()[0] == 0
        assert poller.execute("SELECT count(*) FROM api.heartbeat_events('{}', '{}')").fetchone()[0] == 0
        _, writers, _ = position(reader, [])
        assert writers == [], "an empty claim is not a writer of audit rows"
        poller.rollback()
