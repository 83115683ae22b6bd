"""The worker protocol over HTTP: the real app on a private deployed database, connected as a
login role of agentledger_api (never the superuser), with keys made as an administrator would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from agentledger_api.app import create_app
from agentledger_api.settings import ApiSettings

PROBLEM_JSON = "application/problem+json"


@dataclass
class WorkApi:
    """A started app client on a private database, and the superuser DSN of that database."""

    client: TestClient
    admin_dsn: str

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            cursor = conn.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []

    def key(self, name: str, role: str) -> dict[str, str]:
        """Headers carrying a new key named `name` with this role."""
        key = self.sql("SELECT api.create_api_key(%s, %s)", name, role)[0][0]
        return {"Authorization": f"Bearer {key}"}

    def submit(self, customer_id: str = "cust-1") -> int:
        return self.sql("SELECT id FROM api.submit_event(%s, 'loan_application', '{\"amount\": 9000}')", customer_id)[
            0
        ][0]

    def audit_rows(self, event_id: int) -> list[tuple]:
        return self.sql(
            "SELECT from_status, to_status, actor FROM ledger.audit_log WHERE event_id = %s ORDER BY seq", event_id
        )


@pytest.fixture
def work_api(fresh_db: str, login_as: Callable[[str, str], str]) -> Iterator[WorkApi]:
    settings = ApiSettings(database_url=login_as(fresh_db, "agentledger_api"), pool_min_size=1, pool_max_size=4)
    with TestClient(create_app(settings)) as client:
        yield WorkApi(client, fresh_db)


@pytest.fixture
def worker(work_api: WorkApi) -> dict[str, str]:
    return work_api.key("underwriter-1", "worker")


def claim_one(work_api: WorkApi, worker: dict[str, str], path: str = "/claims") -> dict[str, Any]:
    response = work_api.client.post(path, json={"limit": 1}, headers=worker)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    return items[0]


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def test_claim_heartbeat_decide_complete(work_api: WorkApi, worker: dict[str, str]) -> None:
    event_id = work_api.submit()
    claim = claim_one(work_api, worker)
    assert (claim["id"], claim["status"], claim["attempts"]) == (event_id, "processing", 1)
    token = claim["lease_token"]
    post = work_api.client.post

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
    # The key's name is the actor of every step.
    assert work_api.audit_rows(event_id)[1:] == [
        ("queued", "processing", "underwriter-1"),
        ("processing", "approved", "underwriter-1"),
        ("approved", "completed", "underwriter-1"),
    ]


def test_retried_decide_is_already_done_and_writes_nothing(work_api: WorkApi, worker: dict[str, str]) -> None:
    event_id = work_api.submit()
    token = claim_one(work_api, worker)["lease_token"]
    body = {"lease_token": token, "decision": "rejected", "reason": "debt ratio too high", "keep_lease": False}
    first = work_api.client.post(f"/events/{event_id}/decide", json=body, headers=worker)
    rows = work_api.audit_rows(event_id)
    again = work_api.client.post(f"/events/{event_id}/decide", json=body, headers=worker)
    assert first.status_code == again.status_code == 200, again.text
    assert (first.json()["outcome"], again.json()["outcome"]) == ("done", "already_done")
    assert again.json()["status"] == "rejected"
    assert work_api.audit_rows(event_id) == rows


def test_stale_token_is_refused_with_al009(work_api: WorkApi, worker: dict[str, str]) -> None:
    event_id = work_api.submit()
    token = claim_one(work_api, worker)["lease_token"]
    released = work_api.client.post(
        f"/events/{event_id}/release", json={"lease_token": token, "reason": "shutdown"}, headers=worker
    )
    assert released.status_code == 200 and released.json()["status"] == "queued", released.text
    claim_one(work_api, worker)  # a new lease, a new token: the old one acts on nothing
    beat = work_api.client.post(f"/events/{event_id}/heartbeat", json={"lease_token": token}, headers=worker)
    body = assert_problem(beat, 409, "AL009")
    assert "lease has ended" in body["detail"] and body["event_id"] == event_id


def test_unknown_event_is_404(work_api: WorkApi, worker: dict[str, str]) -> None:
    response = work_api.client.post(
        "/events/999999/complete", json={"lease_token": "00000000-0000-4000-8000-000000000000"}, headers=worker
    )
    assert_problem(response, 404, "AL001")


def test_retryable_failure_queues_the_event_again_later(work_api: WorkApi, worker: dict[str, str]) -> None:
    event_id = work_api.submit()
    token = claim_one(work_api, worker)["lease_token"]
    failed = work_api.client.post(
        f"/events/{event_id}/fail",
        headers=worker,
        json={"lease_token": token, "error": "model timed out", "error_type": "TimeoutError"},
    )
    assert failed.status_code == 200, failed.text
    assert (failed.json()["outcome"], failed.json()["status"]) == ("done", "queued")
    status, later, error = work_api.sql(
        "SELECT status::text, run_after > now(), last_error FROM ledger.events WHERE id = %s", event_id
    )[0]
    assert (status, later, error) == ("queued", True, "model timed out")
    # Not runnable before its back-off: nothing to claim now.
    assert work_api.client.post("/claims", json={"limit": 5}, headers=worker).json() == {"items": []}


def test_decided_action_handed_off_is_claimed_as_an_action(work_api: WorkApi, worker: dict[str, str]) -> None:
    event_id = work_api.submit()
    token = claim_one(work_api, worker)["lease_token"]
    work_api.client.post(
        f"/events/{event_id}/decide",
        headers=worker,
        json={"lease_token": token, "decision": "approved", "keep_lease": False},
    )
    action = claim_one(work_api, worker, "/claims/actions")
    assert (action["id"], action["status"]) == (event_id, "approved")
    assert action["lease_token"] != token


def test_only_worker_keys_may_claim(work_api: WorkApi) -> None:
    submitter = work_api.key("intake", "submitter")
    response = work_api.client.post("/claims", json={"limit": 1}, headers=submitter)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert work_api.sql("SELECT count(*) FROM ledger.events WHERE status = 'processing'") == [(0,)]


def test_stats(work_api: WorkApi, worker: dict[str, str]) -> None:
    work_api.submit("cust-1")
    work_api.submit("cust-2")
    claim_one(work_api, worker)
    response = work_api.client.get("/stats", headers=work_api.key("auditor-1", "auditor"))
    assert response.status_code == 200, response.text
    stats = response.json()
    counts = {(c["event_type"], c["status"]): c["events"] for c in stats["counts"]}
    assert counts == {("loan_application", "processing"): 1, ("loan_application", "queued"): 1}
    assert stats["oldest_queued_age_seconds"] >= 0 and stats["decided_awaiting_action"] == 0


def test_a_key_reports_only_on_what_it_claimed(work_api: WorkApi, worker: dict[str, str]) -> None:
    """The lease token alone does not let another key act: the audit names the key that acts."""
    event_id = work_api.submit()
    token = claim_one(work_api, worker)["lease_token"]
    other = work_api.key("underwriter-2", "worker")
    rows = work_api.audit_rows(event_id)
    response = work_api.client.post(
        f"/events/{event_id}/decide", headers=other, json={"lease_token": token, "decision": "approved"}
    )
    assert_problem(response, 409, "AL009")
    assert work_api.audit_rows(event_id) == rows, "nothing was recorded"
    mine = work_api.client.post(
        f"/events/{event_id}/decide", headers=worker, json={"lease_token": token, "decision": "approved"}
    )
    assert mine.status_code == 200 and mine.json()["outcome"] == "done", mine.text
