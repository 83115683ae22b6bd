"""A seal asked for inside a transaction that already did something (wrote, sealed before, took a
transaction id) must not skip a row that a newer, still running writer drew below the sealed range.
"""

from __future__ import annotations

import psycopg
import pytest

SUBMIT = "SELECT id FROM api.submit_event('c', 'loan_application', '{}')"
SEAL = "SELECT api.seal_audit('ops')"

PRELUDES = {
    # a worker that seals after doing its work, in the same transaction
    "wrote": ("agentledger_worker", SUBMIT),
    # an auditor that seals twice in one transaction (the first call has nothing to seal yet)
    "sealed_before": ("agentledger_auditor", SEAL),
    # an auditor whose transaction took an id without writing anything
    "took_an_xid": ("agentledger_auditor", "SELECT pg_current_xact_id()"),
}


@pytest.mark.parametrize("prelude", sorted(PRELUDES))
def test_a_seal_in_a_transaction_with_an_older_xid_misses_no_row(fresh_db: str, login_as, prelude: str) -> None:
    group, first_statement = PRELUDES[prelude]
    sealer_dsn = login_as(fresh_db, group)
    with (
        psycopg.connect(sealer_dsn) as sealer,
        psycopg.connect(fresh_db) as slow_writer,
        psycopg.connect(fresh_db, autocommit=True) as other,
    ):
        sealer.execute(first_statement)  # the sealer's transaction now has a transaction id
        slow_writer.execute(SUBMIT)  # a newer transaction draws a seq and stays open
        other.execute(SUBMIT)  # a higher seq, committed at once
        try:
            sealer.execute(SEAL)
            sealer.commit()
        except psycopg.Error:
            sealer.rollback()  # refusing to seal here would be a correct answer too
        slow_writer.commit()

        # Nothing is running any more: two more seals must cover every row exactly once.
        other.execute(SEAL)
        other.execute(SEAL)
        unsealed = other.execute(
            "SELECT array_agg(a.seq ORDER BY a.seq) FROM ledger.audit_log a"
            " WHERE (SELECT count(*) FROM ledger.audit_seals s"
            "         WHERE a.seq BETWEEN s.first_seq AND s.last_seq) <> 1"
        ).fetchone()[0]
        verdict = other.execute("SELECT ok, problem FROM api.verify_audit()").fetchone()
        seals = other.execute("SELECT first_seq, last_seq, row_count FROM ledger.audit_seals ORDER BY id").fetchall()
    assert unsealed is None, f"audit rows {unsealed} are not in exactly one seal; seals: {seals}"
    assert verdict == (True, None), f"an untampered trail fails verification: {verdict}"
