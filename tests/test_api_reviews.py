"""Reviews over HTTP: four-eyes compares people, not keys. The database finds the reviewing
principal from the key, so two keys of one person approve once (409 AL018), two people approve an
event that needs two, and the principal that proposed may not review, whichever key it uses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import ApiHarness, assert_problem, event

FOUR_EYES_ABOVE_10000 = """INSERT INTO ledger.review_policies (event_type, payload_field, payload_above, approvals_required)
                           VALUES ('loan_application', 'amount', 10000, 2)"""


@pytest.fixture
def four_eyes(api: ApiHarness) -> ApiHarness:
    api.sql(FOUR_EYES_ABOVE_10000)
    return api


def proposed(api: ApiHarness, worker: dict[str, str], customer_id: str = "cust-4e") -> int:
    """A large loan, submitted, claimed and decided approved by `worker`: now in review."""
    event_id = api.client.post("/events", json=event(customer_id, payload={"amount": 25000}), headers=worker).json()[
        "id"
    ]
    claims = api.client.post("/claims", json={"limit": 10}, headers=worker).json()["items"]
    [token] = [claim["lease_token"] for claim in claims if claim["id"] == event_id]
    decided = api.client.post(
        f"/events/{event_id}/decide",
        json={"lease_token": token, "decision": "approved", "reason": "income covers it"},
        headers=worker,
    )
    assert decided.status_code == 200 and decided.json()["status"] == "in_review", decided.text
    return int(event_id)


def review(api: ApiHarness, event_id: int, headers: dict[str, str], verdict: str = "approved") -> Any:
    return api.client.post(
        f"/events/{event_id}/reviews", json={"verdict": verdict, "reason": f"{verdict} after checks"}, headers=headers
    )


def test_one_person_with_two_reviewer_keys_approves_once(four_eyes: ApiHarness) -> None:
    api = four_eyes
    event_id = proposed(api, api.key("worker", "underwriter-r1"))
    api.principal("ada", "human")
    laptop = api.key("reviewer", "ada-laptop", principal="ada")
    phone = api.key("reviewer", "ada-phone", principal="ada")
    first = review(api, event_id, laptop)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["changed_by"]) == ("in_review", "ada")
    before = api.totals()
    body = assert_problem(review(api, event_id, phone), 409, "AL018")
    assert "ada" in body["detail"], body
    assert api.totals() == before, "the refused approval wrote nothing"
    queued = api.client.get("/reviews", headers=phone).json()["items"]
    assert [(r["id"], r["approved_by"], r["approvals_required"]) for r in queued] == [(event_id, ["ada"], 2)]


def test_two_people_approve_a_four_eyes_event(four_eyes: ApiHarness) -> None:
    api = four_eyes
    event_id = proposed(api, api.key("worker", "underwriter-r2"))
    ada, bob = api.key("reviewer", "ada-2"), api.key("reviewer", "bob-2")
    assert review(api, event_id, ada).json()["status"] == "in_review"
    approved = review(api, event_id, bob)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["changed_by"], approved.json()["changed_by_kind"]) == (
        "approved",
        "bob-2",
        "human",
    )
    assert api.client.get("/reviews", headers=ada).json() == {"items": []}
    history = api.client.get(f"/events/{event_id}/history", headers=api.key("auditor")).json()["entries"]
    assert [(e["to_status"], e["actor"], e["api_key"]) for e in history[-2:]] == [
        ("in_review", "ada-2", "ada-2"),
        ("approved", "bob-2", "bob-2"),
    ]


def test_the_proposer_may_not_review_with_another_key(four_eyes: ApiHarness) -> None:
    """A person who worked the event with a worker key may not review it with a reviewer key."""
    api = four_eyes
    api.principal("carol", "human")
    event_id = proposed(api, api.key("worker", "carol-desk", principal="carol"))
    carol = api.key("reviewer", "carol-review", principal="carol")
    before = api.totals()
    body = assert_problem(review(api, event_id, carol), 403, "AL017")
    assert "carol" in body["detail"], body
    assert api.totals() == before
    assert review(api, event_id, api.key("reviewer"), "rejected").json()["status"] == "rejected"


def test_only_reviewer_keys_give_verdicts(four_eyes: ApiHarness) -> None:
    api = four_eyes
    event_id = proposed(api, api.key("worker", "underwriter-r3"))
    for role in ("worker", "submitter", "auditor"):
        assert_problem(review(api, event_id, api.key(role)), 403)
    assert_problem(api.client.get("/reviews", headers=api.key("worker")), 403)
