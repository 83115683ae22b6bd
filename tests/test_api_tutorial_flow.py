"""The tutorial's client flow, end to end over the API: an older client submits with a string
payload, finds its event among the pending ones, moves it through processing and approved with
?status=, claims the follow-up action (a decision drops the lease) and completes it with the
action's lease token, and the history shows every step in the name of the key's principal, with
the key named beside it, and a verified chain."""

from __future__ import annotations

import itertools
import json

from tests.support.api import ApiHarness


def find_pending(api: ApiHarness, headers: dict[str, str], event_id: int) -> dict:
    """The event as GET /events/pending lists it, following the cursor page by page."""
    cursor = None
    while True:
        response = api.client.get(
            "/events/pending", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200, response.text
        for item in response.json()["items"]:
            if item["id"] == event_id:
                return item
        cursor = response.json()["next"]
        assert cursor is not None, f"event {event_id} is not pending"


def test_the_tutorial_flow(api: ApiHarness) -> None:
    api.principal("loan-agent", "agent")
    agent = api.key("worker", "loan-agent-1", principal="loan-agent")
    api.sql(
        "SELECT api.submit_events(jsonb_agg(jsonb_build_object('customer_id', 'other-' || g, "
        "'event_type', 'support_ticket', 'payload', '{}'::jsonb))) FROM generate_series(1, 5) g"
    )

    submitted = api.client.post(
        "/events",
        headers=agent,
        json={"customer_id": "cust-42", "event_type": "loan_application", "payload": json.dumps({"amount": 25000})},
    )
    assert submitted.status_code == 201, submitted.text
    event_id = submitted.json()["id"]

    pending = find_pending(api, agent, event_id)
    assert (pending["status"], pending["payload"], pending["customer_id"]) == ("queued", {"amount": 25000}, "cust-42")

    for status in ("processing", "approved"):
        response = api.client.patch(f"/events/{event_id}/status?status={status}", headers=agent)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    actions = api.client.post("/claims/actions", json={"limit": 10}, headers=agent)
    assert actions.status_code == 200, actions.text
    [token] = [claim["lease_token"] for claim in actions.json()["items"] if claim["id"] == event_id]
    response = api.client.patch(
        f"/events/{event_id}/status?status=completed", json={"status": "completed", "lease_token": token}, headers=agent
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"

    history = api.client.get(f"/events/{event_id}/history", headers=agent)
    assert history.status_code == 200, history.text
    entries = history.json()["entries"]
    assert [(e["from_status"], e["to_status"], e["actor"], e["api_key"], e["version"]) for e in entries] == [
        (None, "queued", "loan-agent", "loan-agent-1", 1),
        ("queued", "processing", "loan-agent", "loan-agent-1", 2),
        ("processing", "approved", "loan-agent", "loan-agent-1", 3),
        ("approved", "completed", "loan-agent", "loan-agent-1", 4),
    ]
    assert {e["db_user"] for e in entries} == {api.db_user}
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(entries))
    assert history.json()["verification"] == {"ok": True, "rows_checked": 4, "broken_seq": None, "problem": None}
    assert api.sql("SELECT ok, rows_checked FROM api.verify_audit(%s)", event_id) == [(True, 4)]
    assert api.sql("SELECT ok FROM api.verify_audit()") == [(True,)]

    final = api.client.get(f"/events/{event_id}", headers=agent).json()
    assert (final["status"], final["version"], final["changed_by"]) == ("completed", 4, "loan-agent")
    assert all(item["id"] != event_id for item in api.client.get("/events/pending", headers=agent).json()["items"])
