"""The example agents (examples/agentledger_examples/): their deterministic rules, and
`agentledger worker --example` run as a real process against a freshly deployed database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from agentledger.cli.run import EXAMPLE_POLICY
from agentledger_examples import fraud, loans, support
from tests.support.roles import LoginAs

WORKER = "example-agents"  # the example worker's name: it labels its claims
INTAKE = "intake-test"  # the service principal that submits, with an API key
DEADLINE_SECONDS = 30.0
STOP_SECONDS = 30.0


# --- the rules -----------------------------------------------------------------------------------


def test_loan_within_policy_is_approved_with_its_score_and_rule() -> None:
    assessed = loans.assess({"amount": 5000, "income": 60000, "debts": 1000})
    assert assessed.decision == "approved"
    assert assessed.result == {"score": 0.1, "rule_version": loans.RULE_VERSION}
    assert assessed == loans.assess({"amount": 5000, "income": 60000, "debts": 1000}), "deterministic"


def test_loan_above_the_debt_ratio_is_rejected_with_the_reason() -> None:
    assessed = loans.assess({"amount": 9000, "income": 30000, "debts": 6000})
    assert assessed.decision == "rejected"
    assert assessed.reason == "debt to income 0.50 is above 0.40"
    assert assessed.result["score"] == 0.5


def test_loan_without_income_is_rejected() -> None:
    assessed = loans.assess({"amount": 500})
    assert (assessed.decision, assessed.reason) == ("rejected", "no income stated")


@pytest.mark.parametrize("amount", [10_001, 25_000])
def test_large_loans_are_assessed_by_the_same_rule(amount: int) -> None:
    """Whether people review a large loan is the database's review policy, not the agent's rule."""
    assert loans.assess({"amount": amount, "income": 10_000_000}).decision == "approved"
    assert loans.assess({"amount": amount, "income": amount}).decision == "rejected"


@pytest.mark.parametrize(
    "payload", [{}, {"amount": "lots"}, {"amount": True}, {"amount": 0}, {"amount": 100, "income": "high"}]
)
def test_a_loan_payload_that_cannot_be_assessed_is_invalid(payload: dict) -> None:
    with pytest.raises(loans.InvalidApplication):
        loans.assess(payload)


def test_loan_actions_disburse_or_send_the_letter() -> None:
    assert loans.action_details(7, "approved", {"amount": 500}) == {
        "action": "disbursed",
        "amount": 500,
        "transfer_id": "T-7",
    }
    assert loans.action_details(7, "rejected", {"amount": 500}) == {
        "action": "decision_letter_sent",
        "letter": "declined",
        "to": "applicant",
    }


def test_fraud_score_sums_its_signals() -> None:
    assert fraud.score_alert({"amount": 20}) == (0.0, [])
    assert fraud.score_alert({"amount": 9000, "country": "FR", "home_country": "GB", "new_device": True}) == (
        0.75,
        ["large_amount", "foreign_country", "new_device"],
    )
    everything = {
        "amount": 9000,
        "country": "FR",
        "home_country": "GB",
        "new_device": True,
        "transactions_last_hour": 9,
    }
    assert fraud.score_alert(everything)[0] == 1.0, "capped at 1"
    assert fraud.score_alert({"amount": "9000", "transactions_last_hour": "9"}) == (0.0, []), (
        "values of the wrong type count for nothing"
    )


def test_support_summary_is_the_first_sentence_and_a_keyword_category() -> None:
    found = support.summarise("  I cannot log in\nsince Monday.  My password reset mail never came. ")
    assert found == {"summary": "I cannot log in since Monday.", "category": "access"}
    assert support.summarise("Someone used my card! It was stolen.")["category"] == "fraud", "fraud wins over cards"
    assert support.summarise("Where is my statement?")["category"] == "general"
    assert support.summarise("Repaying my loan early: is there a fee")["category"] == "lending"
    long = support.summarise("word " * 100)["summary"]
    assert len(long) == support.SUMMARY_CHARS and long.endswith("…")


# --- `agentledger worker --example`, end to end -------------------------------------------------------

SUBMITTED = {  # name: (event_type, payload, decision, what the decision's result and the action must show)
    "small loan": (
        "loan_application",
        {"amount": 4000, "income": 48000, "debts": 2000},
        "approved",
        lambda result, details: (
            result == {"score": 0.125, "rule_version": loans.RULE_VERSION}
            and details["action"] == "disbursed"
            and details["amount"] == 4000
        ),
    ),
    "large loan": (
        "loan_application",
        {"amount": 25000, "income": 40000, "debts": 5000},
        "rejected",
        lambda result, details: (
            result["score"] == 0.75
            and details == {"action": "decision_letter_sent", "letter": "declined", "to": "applicant"}
        ),
    ),
    "fraud alert": (
        "fraud_alert",
        {"amount": 9000, "country": "FR", "home_country": "GB", "new_device": True},
        "rejected",
        lambda result, details: result["score"] == 0.75 and details["action"] == "card_frozen",
    ),
    "support ticket": (
        "support_ticket",
        {"text": "My card was declined at the ATM. I need cash today."},
        "approved",
        lambda result, details: (
            result == {"summary": "My card was declined at the ATM.", "category": "cards"}
            and details == {"routed_to": "cards-queue"}
        ),
    ),
}


@pytest.fixture
def intake_key(fresh_db: str) -> str:
    """An API key of the service principal INTAKE."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT api.create_principal(%s, 'service')", [INTAKE])
        return conn.execute("SELECT api.create_api_key(%s, 'submitter')", [INTAKE]).fetchone()[0]


def submit(conn: psycopg.Connection, key: str, customer_id: str, event_type: str, payload: dict) -> int:
    return conn.execute(
        "SELECT id FROM api.submit_event(%s, %s, %s, p_key => %s)", (customer_id, event_type, json.dumps(payload), key)
    ).fetchone()[0]


def principal_of(dsn: str) -> str:
    """The principal a login made by login_as acts for: its name is the login's."""
    return str(conninfo_to_dict(dsn)["user"])


def run_examples_until_done(
    admin_dsn: str,
    worker_dsn: str,
    ids: list[int],
    log: Path,
    meanwhile: Callable[[psycopg.Connection, dict[int, str]], None] | None = None,
) -> dict[int, str]:
    """`agentledger worker --example` as a process until every event is completed or failed, then
    SIGTERM; the final statuses. `meanwhile` sees the statuses at every look (people acting while
    the worker runs). The process must exit 0 and log no error."""
    env = {**os.environ, "DATABASE_URL": worker_dsn}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentledger", "worker", "--example"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            while True:
                statuses = {
                    id_: conn.execute("SELECT status::text FROM api.get_event(%s)", (id_,)).fetchone()[0] for id_ in ids
                }
                if all(status in ("completed", "failed") for status in statuses.values()):
                    break
                if meanwhile is not None:
                    meanwhile(conn, statuses)
                assert process.poll() is None, f"the worker ended early (exit {process.returncode})\n{log.read_text()}"
                assert time.monotonic() < deadline, (
                    f"not all finished in {DEADLINE_SECONDS:g} s: {statuses}\n{log.read_text()}"
                )
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        code = process.wait(STOP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output and " ERROR " not in output, output
    return statuses


def trail_of(conn: psycopg.Connection, event_id: int) -> list[dict]:
    ok, problem = conn.execute("SELECT ok, problem FROM api.verify_audit(%s)", (event_id,)).fetchone().values()
    assert ok, problem
    return conn.execute("SELECT * FROM api.event_history(%s)", (event_id,)).fetchall()


def test_example_worker_decides_and_completes_one_event_of_each_type(
    fresh_db: str, intake_key: str, login_as: LoginAs, tmp_path: Path
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ids = {
            name: submit(conn, intake_key, f"cust-{name.replace(' ', '-')}", event_type, payload)
            for name, (event_type, payload, _, _) in SUBMITTED.items()
        }

    worker_dsn = login_as(fresh_db, "agentledger_worker")
    agent = principal_of(worker_dsn)
    statuses = run_examples_until_done(fresh_db, worker_dsn, list(ids.values()), tmp_path / "worker.log")
    assert statuses == dict.fromkeys(ids.values(), "completed"), (ids, statuses)

    with psycopg.connect(fresh_db, autocommit=True, row_factory=dict_row) as conn:
        for name, (_, _, decision, expected) in SUBMITTED.items():
            trail = trail_of(conn, ids[name])
            moves = [(row["from_status"], row["to_status"], row["actor"]) for row in trail]
            assert moves == [
                (None, "queued", INTAKE),
                ("queued", "processing", agent),
                ("processing", decision, agent),
                (decision, "completed", agent),
            ], (name, moves)
            assert trail[1]["details"]["instance"] == WORKER, "the worker's name labels its claim"
            decided, completed = trail[2], trail[3]
            assert decided["reason"], (name, decided)
            assert expected(decided["details"]["result"], completed["details"]), (name, decided, completed)
        assert trail_of(conn, ids["large loan"])[2]["reason"] == "debt to income 0.75 is above 0.40"


def test_a_loan_the_review_policy_holds_waits_for_two_reviewers_then_is_disbursed(
    fresh_db: str, intake_key: str, login_as: LoginAs, tmp_path: Path
) -> None:
    """The review policy `./run` sets: the agent's approval of a 25,000 loan is a proposal; two
    reviewers, two people with a reviewer key each, approve it; the example's follow-up action
    disburses it."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(EXAMPLE_POLICY)
        reviewer_keys = []
        for person in ("reviewer-ann", "reviewer-bob"):
            conn.execute("SELECT api.create_principal(%s, 'human')", [person])
            reviewer_keys += conn.execute("SELECT api.create_api_key(%s, 'reviewer')", [person]).fetchone()
        loan = submit(conn, intake_key, "cust-large", "loan_application", {"amount": 25000, "income": 90000})
    reviewers = iter(reviewer_keys)

    def review(conn: psycopg.Connection, statuses: dict[int, str]) -> None:
        if statuses[loan] == "in_review":
            conn.execute(
                "SELECT api.review_event(%s, 'approved', 'income verified', p_key => %s)", (loan, next(reviewers))
            )

    worker_dsn = login_as(fresh_db, "agentledger_worker")
    agent = principal_of(worker_dsn)
    statuses = run_examples_until_done(fresh_db, worker_dsn, [loan], tmp_path / "worker.log", review)
    assert statuses == {loan: "completed"}
    with psycopg.connect(fresh_db, autocommit=True, row_factory=dict_row) as conn:
        moves = [(row["from_status"], row["to_status"], row["actor"]) for row in trail_of(conn, loan)]
        assert moves == [
            (None, "queued", INTAKE),
            ("queued", "processing", agent),
            ("processing", "in_review", agent),
            ("in_review", "in_review", "reviewer-ann"),
            ("in_review", "approved", "reviewer-bob"),
            ("approved", "completed", agent),
        ], moves
        assert trail_of(conn, loan)[-1]["details"]["action"] == "disbursed"


def test_example_worker_fails_an_invalid_loan_and_finishes_a_ticket_decided_elsewhere(
    fresh_db: str, intake_key: str, login_as: LoginAs, tmp_path: Path
) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        ticket = submit(conn, intake_key, "cust-ticket", "support_ticket", {"text": "Loan question."})
        invalid = submit(conn, intake_key, "cust-invalid", "loan_application", {"amount": "a lot"})
    # A ticket decided by another agent that handed its action off (as one stopped after its decision).
    old_copilot = login_as(fresh_db, "agentledger_worker")
    with psycopg.connect(old_copilot, autocommit=True) as conn:
        [(token,)] = conn.execute("SELECT lease_token FROM api.claim_events('copilot-old', 1, '{support_ticket}')")
        [(outcome,)] = conn.execute(
            "SELECT outcome FROM api.decide_events(ARRAY[%s]::bigint[], ARRAY[%s]::uuid[], '{approved}',"
            " '{summarised}', ARRAY[%s]::jsonb[], false)",
            (ticket, token, json.dumps({"summary": "Loan question.", "category": "lending"})),
        )
        assert outcome == "done"

    worker_dsn = login_as(fresh_db, "agentledger_worker")
    agent = principal_of(worker_dsn)
    statuses = run_examples_until_done(fresh_db, worker_dsn, [ticket, invalid], tmp_path / "worker.log")
    assert statuses == {ticket: "completed", invalid: "failed"}

    with psycopg.connect(fresh_db, autocommit=True, row_factory=dict_row) as conn:
        trail = trail_of(conn, ticket)
        assert [(row["to_status"], row["actor"]) for row in trail][-2:] == [
            ("approved", principal_of(old_copilot)),
            ("completed", agent),
        ]
        assert trail[-1]["details"] == {"routed_to": "lending-queue"}
        trail = trail_of(conn, invalid)
        assert [(row["to_status"], row["actor"]) for row in trail][1:] == [("processing", agent), ("failed", agent)]
        event = conn.execute("SELECT * FROM api.get_event(%s)", (invalid,)).fetchone()
        assert event["attempts"] == 1, "not retried"
        assert event["last_error"] == "cannot assess the application: amount must be a number, not 'a lot'"
        assert event["last_error_type"] == "InvalidApplication"
