"""Humans in the loop, end to end: a worker proposes, reviewers decide over HTTP, the worker's
follow-up action completes the event, and the history shows every step with its actor: the
principal of the key or of the login that acted."""

from __future__ import annotations

import asyncio
import json
import subprocess
from decimal import Decimal

import psycopg
from psycopg.conninfo import conninfo_to_dict

from agentledger_worker import Worker
from agentledger_worker.channels import ESCALATIONS_CHANNEL
from tests.support import databases
from tests.support.api import assert_problem
from tests.support.docs import code_blocks, section
from tests.support.workers import async_wait_until, running, sql

FOUR_EYES_ABOVE_10000 = """INSERT INTO ledger.review_policies (event_type, payload_field, payload_above, approvals_required)
                           VALUES ('loan_application', 'amount', 10000, 2)"""


def test_a_large_loan_needs_two_reviewers_then_the_worker_disburses_it(api, fresh_db, login_as):
    api.sql(FOUR_EYES_ABOVE_10000)
    submitter = api.key("submitter", "intake")
    # Two reviewers are two people (principals); ada's second key is still ada.
    ada, bob, auditor = api.key("reviewer", "rev-ada"), api.key("reviewer", "rev-bob"), api.key("auditor")
    ada_laptop = api.key("reviewer", "rev-ada-laptop", principal="rev-ada")
    event_id = api.client.post(
        "/events",
        headers=submitter,
        json={"customer_id": "cust-42", "event_type": "loan_application", "payload": {"amount": 25000}},
    ).json()["id"]
    small_id = api.client.post(
        "/events",
        headers=submitter,
        json={"customer_id": "cust-43", "event_type": "loan_application", "payload": {"amount": 5000}},
    ).json()["id"]
    worker = Worker(name="underwriter-1", poll_interval=0.3)
    proposals: list[str] = []

    @worker.handler("loan_application")
    async def underwrite(event, ctx):
        return ctx.approve(result={"score": 0.12, "confidence": 0.97}, reason="income covers the instalments")

    @worker.action("loan_application")
    def disburse(event, ctx):
        return ctx.complete({"disbursed": event.payload["amount"]})

    def status(ident: int) -> str:
        return sql(fresh_db, "SELECT status::text FROM ledger.events WHERE id = %s", ident)[0][0]

    worker_dsn = login_as(fresh_db, "agentledger_worker")
    agent = conninfo_to_dict(worker_dsn)["user"]  # the principal its login acts for

    async def scenario() -> None:
        async with running(worker, worker_dsn):
            await async_wait_until(
                lambda: status(event_id) == "in_review" and status(small_id) == "completed",
                30,
                "the proposal, and the small loan done",
            )
            queue = (await asyncio.to_thread(api.client.get, "/reviews", headers=auditor)).json()["items"]
            proposals.extend(f"{r['id']} {r['proposed_status']} by {r['proposed_by']}" for r in queue)
            first = await asyncio.to_thread(
                api.client.post,
                f"/events/{event_id}/reviews",
                headers=ada,
                json={"verdict": "approved", "reason": "payslips verified"},
            )
            assert first.status_code == 200 and first.json()["status"] == "in_review", first.text
            again = await asyncio.to_thread(
                api.client.post,
                f"/events/{event_id}/reviews",
                headers=ada,
                json={"verdict": "approved", "reason": "really"},
            )
            assert_problem(again, 409, "AL018")
            with_another_key = await asyncio.to_thread(
                api.client.post,
                f"/events/{event_id}/reviews",
                headers=ada_laptop,
                json={"verdict": "approved", "reason": "from my laptop"},
            )
            assert_problem(with_another_key, 409, "AL018")
            second = await asyncio.to_thread(
                api.client.post,
                f"/events/{event_id}/reviews",
                headers=bob,
                json={"verdict": "approved", "reason": "collateral checked"},
            )
            assert second.status_code == 200 and second.json()["status"] == "approved", second.text
            await async_wait_until(lambda: status(event_id) == "completed", 30, "the disbursement")

    asyncio.run(scenario())

    assert proposals == [f"{event_id} approved by {agent}"]
    history = api.client.get(f"/events/{event_id}/history", headers=auditor).json()
    steps = [(e["from_status"], e["to_status"], e["actor"], e["actor_kind"]) for e in history["entries"]]
    assert steps == [
        (None, "queued", "intake", "system"),  # a service principal acts as system
        ("queued", "processing", agent, "agent"),
        ("processing", "in_review", agent, "agent"),  # the agent's proposal
        ("in_review", "in_review", "rev-ada", "human"),  # the first approval
        ("in_review", "approved", "rev-bob", "human"),  # the second: the human verdict
        ("approved", "completed", agent, "agent"),  # the follow-up action
    ]
    assert [e["api_key"] for e in history["entries"]] == ["intake", None, None, "rev-ada", "rev-bob", None]
    assert history["entries"][1]["details"]["instance"] == "underwriter-1", "the worker's name labels its claim"
    proposal, verdict = history["entries"][2], history["entries"][4]
    assert proposal["reason"] == "income covers the instalments" and proposal["details"]["proposal"] == "approved"
    assert verdict["details"]["approved_by"] == ["rev-ada", "rev-bob"] and verdict["details"]["proposed_by"] == agent
    assert history["verification"]["ok"] is True


def test_review_refusals_over_http(api):
    api.sql("INSERT INTO ledger.review_policies (event_type, always_review) VALUES ('fraud_alert', true)")
    worker_key, cy, dee = api.key("worker", "triage-bot"), api.key("reviewer", "rev-cy"), api.key("reviewer", "rev-dee")
    cy_desk = api.key("worker", "rev-cy-desk", principal="rev-cy")  # cy's key for recording outcomes
    event_id = api.client.post(
        "/events", headers=worker_key, json={"customer_id": "cust-9", "event_type": "fraud_alert", "payload": {}}
    ).json()["id"]
    # A person decides it through the generic transition (with a worker key of theirs): the policy
    # sends that decision to review too.
    assert (
        api.client.patch(f"/events/{event_id}/status", headers=cy_desk, json={"status": "processing"}).status_code
        == 200
    )
    proposed = api.client.patch(
        f"/events/{event_id}/status", headers=cy_desk, json={"status": "rejected", "reason": "card used abroad"}
    )
    assert proposed.status_code == 200 and proposed.json()["status"] == "in_review", proposed.text

    review = f"/events/{event_id}/reviews"
    # cy proposed it (with the worker key): cy may not review it, whatever the key.
    assert_problem(api.client.post(review, headers=cy, json={"verdict": "approved", "reason": "mine"}), 403, "AL017")
    assert_problem(api.client.post(review, headers=worker_key, json={"verdict": "approved", "reason": "x"}), 403)
    assert_problem(api.client.post(review, headers=dee, json={"verdict": "maybe", "reason": "x"}), 422, "validation")
    assert_problem(api.client.post(review, headers=dee, json={"verdict": "approved"}), 422, "validation")
    assert_problem(
        api.client.post("/events/999999/reviews", headers=dee, json={"verdict": "approved", "reason": "x"}),
        404,
        "AL001",
    )
    # The verdict is a review, not a status change: a reviewer key records no outcome, and the
    # generic transition cannot skip the review.
    shortcut = {"status": "approved", "reason": "shortcut"}
    assert_problem(api.client.patch(f"/events/{event_id}/status", headers=dee, json=shortcut), 403)
    assert_problem(api.client.patch(f"/events/{event_id}/status", headers=worker_key, json=shortcut), 409, "AL003")
    assert_problem(api.client.get("/reviews", headers=worker_key), 403)
    queue = api.client.get("/reviews?event_type=fraud_alert", headers=dee).json()["items"]
    assert [(r["id"], r["proposed_status"], r["proposed_by"]) for r in queue] == [(event_id, "rejected", "rev-cy")]

    rejected = api.client.post(review, headers=dee, json={"verdict": "rejected", "reason": "confirmed fraud"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    assert_problem(api.client.post(review, headers=dee, json={"verdict": "approved", "reason": "late"}), 409, "AL003")
    assert api.client.get("/reviews", headers=dee).json() == {"items": []}


def test_the_readme_policies_apply(fresh_db):
    [block] = code_blocks(section("Human review"), "sql")
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", fresh_db],
        input=block,
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)
    assert sql(
        fresh_db,
        """SELECT event_type, payload_field, payload_above, confidence_below, approvals_required
                              FROM ledger.review_policies ORDER BY 1""",
    ) == [("fraud_alert", None, None, Decimal("0.8"), 1), ("loan_application", "amount", Decimal("10000"), None, 2)]


def test_a_missed_deadline_is_escalated_once_by_the_workers_maintenance_pass(api, fresh_db, login_as):
    """fraud_alert must be decided within half a second; no worker decides it here. The worker's
    maintenance pass (with the lease rescue) marks the breach once, NOTIFYs the escalation channel,
    and /stats and /metrics count it."""
    api.sql("UPDATE ledger.event_types SET decide_within = interval '500 ms' WHERE name = 'fraud_alert'")
    key = api.key("auditor")
    worker = Worker(name="maintainer", poll_interval=0.3, rescue_interval=0.2)
    worker.handler("support_ticket")(lambda event, ctx: ctx.approve())  # not the late type
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    agent = conninfo_to_dict(worker_dsn)["user"]

    async def scenario() -> list[str]:
        with psycopg.connect(fresh_db, autocommit=True) as listener:
            listener.execute(f"LISTEN {ESCALATIONS_CHANNEL}")
            event_id = sql(fresh_db, "SELECT id FROM api.submit_event('cust-5', 'fraud_alert', '{}')")[0][0]
            async with running(worker, worker_dsn):
                await async_wait_until(
                    lambda: sql(
                        fresh_db, "SELECT decide_breached_at IS NOT NULL FROM ledger.events WHERE id = %s", event_id
                    )[0][0],
                    10,
                    "the breach",
                )
                await asyncio.sleep(1)  # several more passes: nothing more is marked
            notes = [n.payload for n in listener.notifies(timeout=0.5)]
        trail = sql(
            fresh_db,
            "SELECT to_status::text, actor, actor_kind::text FROM ledger.audit_log WHERE event_id = %s ORDER BY seq",
            event_id,
        )
        # The breach is marked by the principal of the worker's login, as a system step.
        assert trail == [("queued", databases.USER, "human"), ("queued", agent, "system")], trail
        return notes

    notes = asyncio.run(scenario())
    assert [json.loads(n) for n in notes] == [{"decide": {"fraud_alert": 1}}]
    stats = api.client.get("/stats", headers=key).json()
    assert {"event_type": "fraud_alert", "deadline": "decide", "events": 1, "open": 1} in stats["deadline_breaches"]
    metrics = api.client.get("/metrics", headers=key).text
    assert 'agentledger_deadline_breaches{event_type="fraud_alert",deadline="decide"} 1' in metrics
    assert 'agentledger_deadline_breaches_open{event_type="fraud_alert",deadline="decide"} 1' in metrics


def test_the_readme_deadlines_apply(fresh_db):
    [block] = code_blocks(section("Deadlines and escalation"), "sql")
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", fresh_db],
        input=block,
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)
    assert sql(
        fresh_db,
        "SELECT decide_within::text, review_within::text FROM ledger.event_types WHERE name = 'loan_application'",
    ) == [("01:00:00", "04:00:00")]
