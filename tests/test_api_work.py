"""The worker protocol over HTTP: the real app on a private deployed database, connected as a
login role of agentledger_api (never the superuser), with principals and keys made as an
administrator would. A lease is held by the claiming key's principal: its token in the hands of
another principal's key acts on nothing (409 AL009), while another key of the same principal may
use it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ApiHarness, assert_problem


def submit(api: ApiHarness, customer_id: str = "cust-1", event_type: str = "loan_application") -> int:
    return api.sql("SELECT id FROM api.submit_event(%s, %s, '{\"amount\": 9000}')", customer_id, event_type)[0][0]


def audit_rows(api: ApiHarness, event_id: int) -> list[tuple]:
    return api.sql(
        "SELECT from_status::text, to_status::text, actor, api_key FROM ledger.audit_log WHERE event_id = %s ORDER BY seq",
        event_id,
    )


@pytest.fixture
def worker(api: ApiHarness) -> dict[str, str]:
    api.principal("underwriter", "agent")
    return api.key("worker", "underwriter-1", principal="underwriter")


def claim_one(api: ApiHarness, worker: dict[str, str], path: str = "/claims", **body: Any) -> dict[str, Any]:
    response = api.client.post(path, json={"limit": 1, **body}, headers=worker)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    return items[0]


def test_claim_heartbeat_decide_complete(api: ApiHarness, worker: dict[str, str]) -> None:
    event_id = submit(api)
    claim = claim_one(api, worker)
    assert (claim["id"], claim["status"], claim["attempts"]) == (event_id, "processing", 1)
    token = claim["lease_token"]
    post = api.client.post

    beat = post(f"/events/{event_id}/heartbeat", json={"lease_token": token}, headers=worker)
    assert beat.status_code == 200, beat.text
    assert beat.json()["outcome"] == "done" and beat.json()["lease_expires_at"] >= claim["lease_expires_at"]

    decided = post(
        f"/events/{event_id}/decide",
        headers=worker,
        json={"lease_token": token, "decision": "approved", "reason": "within policy", "result": {"score": 0.1}},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["outcome"] == "done" and decided.json()["status"] == "approved"

    done = post(
        f"/events/{event_id}/complete", json={"lease_token": token, "details": {"transfer_id": "T-1"}}, headers=worker
    )
    assert done.status_code == 200, done.text
    assert (done.json()["outcome"], done.json()["status"]) == ("done", "completed")
    # The key's principal is the actor of every step, and the key used is named beside it; the
    # claim records the key's name as the worker instance.
    assert audit_rows(api, event_id)[1:] == [
        ("queued", "processing", "underwriter", "underwriter-1"),
        ("processing", "approved", "underwriter", "underwriter-1"),
        ("approved", "completed", "underwriter", "underwriter-1"),
    ]
    assert api.sql(
        "SELECT details FROM ledger.audit_log WHERE event_id = %s AND to_status = 'processing'", event_id
    ) == [({"instance": "underwriter-1"},)]
    assert api.client.get(f"/events/{event_id}", headers=worker).json()["changed_by"] == "underwriter"


def test_retried_decide_is_already_done_and_writes_nothing(api: ApiHarness, worker: dict[str, str]) -> None:
    event_id = submit(api)
    token = claim_one(api, worker)["lease_token"]
    body = {"lease_token": token, "decision": "rejected", "reason": "debt ratio too high", "keep_lease": False}
    first = api.client.post(f"/events/{event_id}/decide", json=body, headers=worker)
    rows = audit_rows(api, event_id)
    again = api.client.post(f"/events/{event_id}/decide", json=body, headers=worker)
    assert first.status_code == again.status_code == 200, again.text
    assert (first.json()["outcome"], again.json()["outcome"]) == ("done", "already_done")
    assert again.json()["status"] == "rejected"
    assert audit_rows(api, event_id) == rows


def test_stale_token_is_refused_with_al009(api: ApiHarness, worker: dict[str, str]) -> None:
    event_id = submit(api)
    token = claim_one(api, worker)["lease_token"]
    released = api.client.post(
        f"/events/{event_id}/release", json={"lease_token": token, "reason": "shutdown"}, headers=worker
    )
    assert released.status_code == 200 and released.json()["status"] == "queued", released.text
    claim_one(api, worker)  # a new lease, a new token: the old one acts on nothing
    beat = api.client.post(f"/events/{event_id}/heartbeat", json={"lease_token": token}, headers=worker)
    body = assert_problem(beat, 409, "AL009")
    assert "lease has ended" in body["detail"] and body["event_id"] == event_id


def test_unknown_event_is_404(api: ApiHarness, worker: dict[str, str]) -> None:
    response = api.client.post(
        "/events/999999/complete", json={"lease_token": "00000000-0000-4000-8000-000000000000"}, headers=worker
    )
    assert_problem(response, 404, "AL001")


def test_retryable_failure_queues_the_event_again_later(api: ApiHarness, worker: dict[str, str]) -> None:
    event_id = submit(api)
    token = claim_one(api, worker)["lease_token"]
    failed = api.client.post(
        f"/events/{event_id}/fail",
        headers=worker,
        json={"lease_token": token, "error": "model timed out", "error_type": "TimeoutError"},
    )
    assert failed.status_code == 200, failed.text
    assert (failed.json()["outcome"], failed.json()["status"]) == ("done", "queued")
    status, later, error = api.sql(
        "SELECT status::text, run_after > now(), last_error FROM ledger.events WHERE id = %s", event_id
    )[0]
    assert (status, later, error) == ("queued", True, "model timed out")
    # Not runnable before its back-off: nothing to claim now.
    assert api.client.post("/claims", json={"limit": 5}, headers=worker).json() == {"items": []}


def test_decided_action_handed_off_is_claimed_as_an_action(api: ApiHarness, worker: dict[str, str]) -> None:
    event_id = submit(api)
    token = claim_one(api, worker)["lease_token"]
    api.client.post(
        f"/events/{event_id}/decide",
        headers=worker,
        json={"lease_token": token, "decision": "approved", "keep_lease": False},
    )
    action = claim_one(api, worker, "/claims/actions")
    assert (action["id"], action["status"]) == (event_id, "approved")
    assert action["lease_token"] != token


def test_only_worker_keys_may_claim(api: ApiHarness) -> None:
    submit(api)
    for role in ("submitter", "reviewer", "auditor"):
        for path in ("/claims", "/claims/actions"):
            assert_problem(api.client.post(path, json={"limit": 1}, headers=api.key(role)), 403)
    assert api.sql("SELECT count(*) FROM ledger.events WHERE status = 'processing'") == [(0,)]


def test_stats(api: ApiHarness, worker: dict[str, str]) -> None:
    submit(api, "cust-1")
    submit(api, "cust-2")
    claim_one(api, worker)
    response = api.client.get("/stats", headers=api.key("auditor"))
    assert response.status_code == 200, response.text
    stats = response.json()
    counts = {(c["event_type"], c["status"]): c["events"] for c in stats["counts"]}
    assert counts == {("loan_application", "processing"): 1, ("loan_application", "queued"): 1}
    assert stats["oldest_queued_age_seconds"] >= 0 and stats["decided_awaiting_action"] == 0


def refused_to_another_principal(api: ApiHarness, event_id: int, send: Any) -> None:
    """`send()` is refused with 409 AL009, naming the lease holder, and records nothing."""
    before = api.totals()
    body = assert_problem(send(), 409, "AL009")
    assert "held by underwriter" in body["detail"] and body.get("event_id", event_id) == event_id, body
    assert api.totals() == before, "nothing was recorded"


def test_a_principal_reports_only_on_what_it_claimed_even_with_the_token(
    api: ApiHarness, worker: dict[str, str]
) -> None:
    """The lease token alone does not let another principal act, on any report nor on PATCH: the
    database finds the principal from the key and refuses one that does not hold the lease. Another
    key of the holding principal acts under its lease."""
    other = api.key("worker", "underwriter-2")  # a principal of its own
    event_id = submit(api)
    token = claim_one(api, worker)["lease_token"]
    path = f"/events/{event_id}"
    post = api.client.post
    for step, body in [
        ("heartbeat", {"lease_token": token}),
        ("decide", {"lease_token": token, "decision": "approved"}),
        ("fail", {"lease_token": token, "error": "not mine", "retryable": False}),
        ("release", {"lease_token": token, "reason": "not mine"}),
    ]:
        refused_to_another_principal(
            api, event_id, lambda step=step, body=body: post(f"{path}/{step}", json=body, headers=other)
        )
    refused_to_another_principal(
        api,
        event_id,
        lambda: api.client.patch(f"{path}/status", json={"status": "approved", "lease_token": token}, headers=other),
    )
    decided = post(f"{path}/decide", headers=worker, json={"lease_token": token, "decision": "approved"})
    assert decided.status_code == 200 and decided.json()["outcome"] == "done", decided.text
    # Decided with the lease kept: the action is the holder's too.
    for step, body in [
        ("complete", {"lease_token": token, "details": {"transfer_id": "T-2"}}),
        ("fail", {"lease_token": token, "error": "not mine", "retryable": False}),
    ]:
        refused_to_another_principal(
            api, event_id, lambda step=step, body=body: post(f"{path}/{step}", json=body, headers=other)
        )
    same_principal = api.key("worker", "underwriter-1b", principal="underwriter")
    done = post(
        f"{path}/complete", json={"lease_token": token, "details": {"transfer_id": "T-2"}}, headers=same_principal
    )
    assert (done.status_code, done.json()["status"]) == (200, "completed"), done.text
    assert audit_rows(api, event_id)[-1] == ("approved", "completed", "underwriter", "underwriter-1b")


def test_a_key_limited_to_event_types_claims_only_those(api: ApiHarness) -> None:
    fraud = submit(api, "cust-scope", "fraud_alert")
    submit(api, "cust-scope", "loan_application")
    limited = api.key("worker", "fraud-desk", event_types=["fraud_alert"])
    assert_problem(
        api.client.post("/claims", json={"limit": 5, "event_types": ["loan_application"]}, headers=limited),
        403,
        "42501",
    )
    assert_problem(
        api.client.post(
            "/claims", json={"limit": 5, "event_types": ["fraud_alert", "loan_application"]}, headers=limited
        ),
        403,
        "42501",
    )
    claimed = api.client.post("/claims", json={"limit": 5}, headers=limited)
    assert claimed.status_code == 200, claimed.text
    assert [(c["id"], c["event_type"]) for c in claimed.json()["items"]] == [(fraud, "fraud_alert")]
    assert api.client.post("/claims", json={"limit": 5, "event_types": ["fraud_alert"]}, headers=limited).json() == {
        "items": []
    }
    assert api.count("status = 'queued' AND event_type = 'loan_application'") == 1
