"""The events endpoints over the real app and a real database: every success path, and every
refusal answered as problem+json with the documented status and code.

Most tests share the module's database (module_api) and touch only their own events; a refused
request is checked to leave the database's event and audit-row counts as they were. Tests that
list everything get a database of their own (api). The last tests send JSON that Python reads but
JSON or PostgreSQL cannot hold (NaN, lone surrogates, absurd nesting, times before year 1): each is
refused with 422 and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.support.api import ApiHarness, assert_problem, event

BIGINT_MAX = 2**63 - 1


def submit(api: ApiHarness, headers: dict[str, str], body: dict[str, Any], **extra_headers: str) -> Any:
    return api.client.post("/events", json=body, headers={**headers, **extra_headers})


def raw_post(api: ApiHarness, headers: dict[str, str], body: bytes | Iterable[bytes]) -> Any:
    """POST bytes as JSON to /events; an iterator is sent chunked, without Content-Length."""
    return api.client.post("/events", content=body, headers={**headers, "Content-Type": "application/json"})


def nothing_written(api: ApiHarness, send: Callable[[], Any], status: int, code: str | None = None) -> dict[str, Any]:
    """Send a request (a no-argument callable) that must be refused and must write nothing."""
    before = api.totals()
    body = assert_problem(send(), status, code)
    assert api.totals() == before, "a refused request wrote events or audit rows"
    return body


def walk(api: ApiHarness, headers: dict[str, str], path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following `next` until it is null."""
    pages, cursor = [], None
    while True:
        response = api.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next"]
        if cursor is None:
            return pages


def batch(api: ApiHarness, headers: dict[str, str], count: int, customer: str = "cust-batch") -> list[int]:
    """Submit `count` events through POST /events/batch, 1,000 per call; their ids."""
    ids: list[int] = []
    for first in range(0, count, 1000):
        items = [event(customer, payload={"n": n}) for n in range(first, min(first + 1000, count))]
        response = api.client.post("/events/batch", json=items, headers=headers)
        assert response.status_code == 201, response.text
        ids += [item["id"] for item in response.json()["items"]]
    return ids


def patch_status(api: ApiHarness, event_id: int, headers: dict[str, str], status: str) -> Any:
    return api.client.patch(f"/events/{event_id}/status", params={"status": status}, headers=headers)


# --- POST /events -------------------------------------------------------------------------------


def test_submit_an_object_payload(module_api: ApiHarness) -> None:
    """201 with a receipt; the event is stored queued, with its payload, in the key's name."""
    api = module_api
    response = submit(api, api.key("worker", "intake-1"), event("cust-7", payload={"amount": 9000}, priority=5))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["status"], receipt["priority"], receipt["customer_id"]) == ("queued", 5, "cust-7")
    assert "created" not in receipt and "payload" not in receipt
    assert api.sql("SELECT payload, changed_by, priority FROM ledger.events WHERE id = %s", receipt["id"]) == [
        ({"amount": 9000}, "intake-1", 5)
    ]


def test_submit_a_string_payload_holding_json(module_api: ApiHarness) -> None:
    """The older client's form: a string holding a JSON object; the object is stored."""
    api = module_api
    response = submit(api, api.key("submitter"), event(payload=json.dumps({"amount": 25000, "term": 36})))
    assert response.status_code == 201, response.text
    assert api.sql("SELECT payload FROM ledger.events WHERE id = %s", response.json()["id"]) == [
        ({"amount": 25000, "term": 36},)
    ]


@pytest.mark.parametrize(
    "payload",
    [[1, 2], 42, None, "[1, 2]", "not json", '"a string"'],
    ids=["array", "number", "null", "string-holding-array", "string-not-json", "string-holding-string"],
)
def test_a_payload_that_is_not_an_object_is_422(module_api: ApiHarness, payload: Any) -> None:
    key = module_api.key("submitter")
    body = nothing_written(module_api, lambda: submit(module_api, key, event(payload=payload)), 422, "validation")
    assert body["errors"][0]["loc"][:2] == ["body", "payload"]


def test_an_unknown_event_type_is_422_al002_with_the_registered_types(module_api: ApiHarness) -> None:
    key = module_api.key("submitter")
    body = nothing_written(module_api, lambda: submit(module_api, key, event(event_type="mortgage")), 422, "AL002")
    assert "mortgage" in body["detail"] and "loan_application" in body["hint"]
    assert body["type"].endswith("/AL002")


def test_an_unknown_field_is_422(module_api: ApiHarness) -> None:
    key = module_api.key("submitter")
    body = nothing_written(module_api, lambda: submit(module_api, key, event(status="completed")), 422, "validation")
    assert body["errors"][0]["loc"] == ["body", "status"]


@pytest.mark.parametrize(("priority", "code"), [(32768, "AL019"), (-32769, "AL019"), (2**63, "validation")])
def test_a_priority_outside_smallint_is_422(module_api: ApiHarness, priority: int, code: str) -> None:
    # The database states the range (AL019); the API refuses only what no integer argument can carry.
    key = module_api.key("submitter")
    body = nothing_written(module_api, lambda: submit(module_api, key, event(priority=priority)), 422, code)
    if code == "validation":
        assert body["errors"][0]["loc"] == ["body", "priority"]


def test_the_smallint_bounds_are_accepted(module_api: ApiHarness) -> None:
    key = module_api.key("submitter")
    for priority in (32767, -32768):
        assert submit(module_api, key, event(priority=priority)).json()["priority"] == priority


@pytest.mark.parametrize(
    "body, code",
    [
        (event("cust\x00-1"), "validation"),
        (event(event_type="loan\x00application"), "validation"),
        (event(payload={"note": "a\x00b"}), "22P05"),
        (event(payload={"a\x00": 1}), "22P05"),
        (event(payload=json.dumps({"note": "a\x00b"})), "22P05"),
    ],
    ids=["customer_id", "event_type", "payload-value", "payload-key", "string-payload"],
)
def test_a_nul_character_is_422_and_nothing_is_written(module_api: ApiHarness, body: dict, code: str) -> None:
    """NUL in a text field is refused by the model; inside the payload, by PostgreSQL (22P05)."""
    key = module_api.key("submitter")
    nothing_written(module_api, lambda: submit(module_api, key, body), 422, code)


@pytest.mark.parametrize(
    "body, status, code",
    [
        (event("c" * 65), 422, "AL006"),
        (event(""), 422, "AL006"),
        (event("cust\n"), 422, "AL006"),
        (event(payload={"text": "x" * (1024 * 1024)}), 413, "AL005"),
        (event(caused_by_event_id=BIGINT_MAX), 404, "AL001"),
    ],
    ids=["customer-too-long", "customer-empty", "customer-control-char", "payload-over-1MiB", "unknown-cause"],
)
def test_the_database_refusals_of_a_submit(module_api: ApiHarness, body: dict, status: int, code: str) -> None:
    """Rules about events are the database's: its SQLSTATE comes back with its message and hint."""
    key = module_api.key("submitter")
    problem = nothing_written(module_api, lambda: submit(module_api, key, body), status, code)
    assert problem["detail"] and problem["hint"]


def test_malformed_json_is_422(module_api: ApiHarness) -> None:
    key = module_api.key("submitter")
    body = nothing_written(module_api, lambda: raw_post(module_api, key, b'{"customer_id": "c", '), 422, "validation")
    assert body["errors"][0]["type"] == "json_invalid"


OVERSIZED = json.dumps(event(payload={"text": "x" * 2000})).encode()


def test_a_body_over_max_body_bytes_is_413_by_content_length(module_make_api) -> None:
    api = module_make_api(max_body_bytes=1024)
    key = api.key("submitter")
    body = nothing_written(api, lambda: raw_post(api, key, OVERSIZED), 413)
    assert "1024" in body["detail"] and body["request_id"]


def test_a_chunked_body_over_max_body_bytes_is_413(module_make_api) -> None:
    """Without Content-Length the limit is counted while the body arrives."""
    api = module_make_api(max_body_bytes=1024)
    key = api.key("submitter")
    chunks = [OVERSIZED[:500], OVERSIZED[500:1500], OVERSIZED[1500:]]
    nothing_written(api, lambda: raw_post(api, key, iter(chunks)), 413)


def test_a_chunked_body_under_max_body_bytes_is_accepted(module_make_api) -> None:
    api = module_make_api(max_body_bytes=1024)
    body = json.dumps(event(payload={"text": "x" * 800})).encode()
    assert raw_post(api, api.key("submitter"), iter([body[:400], body[400:]])).status_code == 201


def test_an_idempotent_replay_is_200_with_the_same_event_and_no_second_row(module_api: ApiHarness) -> None:
    api, key = module_api, module_api.key("worker")
    first = submit(api, key, event("cust-idem-1"), **{"Idempotency-Key": "order-77"})
    before = api.totals()
    again = submit(api, key, event("cust-idem-1"), **{"Idempotency-Key": "order-77"})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json()
    assert api.totals() == before
    assert api.count("customer_id = 'cust-idem-1'") == 1


def test_the_same_idempotency_key_with_another_body_is_409_al004(module_api: ApiHarness) -> None:
    api, key = module_api, module_api.key("worker")
    first = submit(api, key, event("cust-idem-2"), **{"Idempotency-Key": "order-78"}).json()
    body = nothing_written(
        api, lambda: submit(api, key, event("cust-idem-2", priority=1), **{"Idempotency-Key": "order-78"}), 409, "AL004"
    )
    assert str(first["id"]) in body["detail"] and body["hint"]


def test_an_idempotency_key_is_per_customer(module_api: ApiHarness) -> None:
    api, key = module_api, module_api.key("worker")
    a = submit(api, key, event("cust-idem-3"), **{"Idempotency-Key": "k"})
    b = submit(api, key, event("cust-idem-4"), **{"Idempotency-Key": "k"})
    assert (a.status_code, b.status_code) == (201, 201) and a.json()["id"] != b.json()["id"]


def test_an_idempotency_key_is_per_principal(module_api: ApiHarness) -> None:
    """Another submitting principal's same Idempotency-Key is its own: a new event (201), never a
    replay of, nor a conflict with, someone else's. Another key of the same principal replays."""
    api = module_api
    api.principal("intake-a", "service")
    first = api.key("submitter", "intake-a-key-1", principal="intake-a")
    other_principal = api.key("submitter", "intake-b")
    original = submit(api, first, event("cust-idem-5"), **{"Idempotency-Key": "order-1"})
    theirs = submit(api, other_principal, event("cust-idem-5", priority=2), **{"Idempotency-Key": "order-1"})
    assert (original.status_code, theirs.status_code) == (201, 201), theirs.text
    assert theirs.json()["id"] != original.json()["id"] and theirs.json()["priority"] == 2
    same_principal = api.key("submitter", "intake-a-key-2", principal="intake-a")
    replay = submit(api, same_principal, event("cust-idem-5"), **{"Idempotency-Key": "order-1"})
    assert (replay.status_code, replay.json()) == (200, original.json())
    assert api.count("customer_id = 'cust-idem-5'") == 2
    assert api.sql("SELECT submitted_by FROM ledger.events WHERE customer_id = 'cust-idem-5' ORDER BY id") == [
        ("intake-a",),
        ("intake-b",),
    ]


# --- keys limited to event types or customers ---------------------------------------------------


def test_a_key_limited_to_event_types_may_submit_only_those(module_api: ApiHarness) -> None:
    api = module_api
    limited = api.key("submitter", event_types=["fraud_alert"])
    body = nothing_written(api, lambda: submit(api, limited, event("cust-types")), 403, "42501")
    assert "loan_application" in body["detail"], body
    nothing_written(
        api,
        lambda: api.client.post(
            "/events/batch", json=[event("cust-types", "fraud_alert"), event("cust-types")], headers=limited
        ),
        403,
        "42501",
    )
    assert submit(api, limited, event("cust-types", "fraud_alert")).status_code == 201
    batch = api.client.post("/events/batch", json=[event("cust-types", "fraud_alert")], headers=limited)
    assert batch.status_code == 201, batch.text


def test_a_key_limited_to_customers_may_submit_and_read_only_theirs(module_api: ApiHarness) -> None:
    api = module_api
    limited = api.key("worker", customers="branch-7-%")
    body = nothing_written(api, lambda: submit(api, limited, event("branch-8-001")), 403, "42501")
    assert "branch-8-001" in body["detail"], body
    nothing_written(
        api,
        lambda: api.client.post("/events/batch", json=[event("branch-7-001"), event("branch-8-001")], headers=limited),
        403,
        "42501",
    )
    mine = submit(api, limited, event("branch-7-001")).json()["id"]
    theirs = submit(api, api.key("worker"), event("branch-8-002")).json()["id"]
    assert api.client.get(f"/events/{mine}", headers=limited).status_code == 200
    # An event outside the key's scope answers as one that does not exist.
    assert_problem(api.client.get(f"/events/{theirs}", headers=limited), 404, "AL001")
    assert_problem(api.client.get(f"/events/{theirs}/history", headers=limited), 404, "AL001")
    listed = api.client.get("/events", params={"customer_id": "branch-8-002"}, headers=limited)
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text


# --- POST /events/batch -------------------------------------------------------------------------


def test_a_batch_is_submitted_in_order(module_api: ApiHarness) -> None:
    response = module_api.client.post(
        "/events/batch", json=[event("cust-b1"), event("cust-b2", priority=3)], headers=module_api.key("worker")
    )
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [(i["customer_id"], i["priority"], i["created"]) for i in items] == [
        ("cust-b1", 0, True),
        ("cust-b2", 3, True),
    ]
    assert items[0]["id"] < items[1]["id"]


@pytest.mark.parametrize(
    "bad, status, code",
    [
        (event(event_type="nope"), 422, "AL002"),
        (event(payload={"note": "\x00"}), 422, "22P05"),
        (event(priority=40000), 422, "AL019"),
        (event(caused_by_event_id=BIGINT_MAX), 404, "AL001"),
    ],
    ids=["unknown-type", "nul-in-payload", "priority-range", "unknown-cause"],
)
def test_a_batch_is_atomic(module_api: ApiHarness, bad: dict, status: int, code: str) -> None:
    """One bad event refuses the whole batch: no event and no audit row is written."""
    key = module_api.key("worker")
    nothing_written(
        module_api,
        lambda: module_api.client.post(
            "/events/batch", json=[event("cust-atomic"), event("cust-atomic"), bad], headers=key
        ),
        status,
        code,
    )


def test_a_batch_over_max_batch_size_is_413(api: ApiHarness) -> None:
    # The database's setting is the one limit (ledger.settings.max_batch_size).
    api.sql("UPDATE ledger.settings SET max_batch_size = 3")
    key = api.key("worker")
    body = nothing_written(api, lambda: api.client.post("/events/batch", json=[event()] * 4, headers=key), 413, "AL013")
    assert "3" in body["detail"] or "3" in body.get("hint", "")
    assert api.client.post("/events/batch", json=[event()] * 3, headers=key).status_code == 201


def test_an_empty_batch_is_422(module_api: ApiHarness) -> None:
    key = module_api.key("worker")
    nothing_written(
        module_api, lambda: module_api.client.post("/events/batch", json=[], headers=key), 422, "validation"
    )


# --- GET /events/{id} ---------------------------------------------------------------------------


def test_get_an_event(module_api: ApiHarness) -> None:
    api = module_api
    created = submit(api, api.key("submitter"), event("cust-3", payload={"amount": 5})).json()
    response = api.client.get(f"/events/{created['id']}", headers=api.key("auditor"))
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["id"], got["customer_id"], got["payload"], got["status"], got["version"]) == (
        created["id"],
        "cust-3",
        {"amount": 5},
        "queued",
        1,
    )
    assert "lease_token" not in got


def test_get_an_unknown_event_is_404_al001(module_api: ApiHarness) -> None:
    body = assert_problem(module_api.client.get("/events/424242", headers=module_api.key("auditor")), 404, "AL001")
    assert "424242" in body["detail"] and body["hint"]


@pytest.mark.parametrize("event_id", ["0", "-1", str(BIGINT_MAX + 1), "abc"])
def test_get_an_id_that_is_not_a_positive_bigint_is_422(module_api: ApiHarness, event_id: str) -> None:
    response = module_api.client.get(f"/events/{event_id}", headers=module_api.key("auditor"))
    assert assert_problem(response, 422, "validation")["errors"][0]["loc"] == ["path", "event_id"]


def test_get_the_largest_bigint_id_reaches_the_database(module_api: ApiHarness) -> None:
    assert_problem(module_api.client.get(f"/events/{BIGINT_MAX}", headers=module_api.key("auditor")), 404, "AL001")


# --- GET /events --------------------------------------------------------------------------------


def test_list_walks_2500_events_in_pages_without_duplicates_or_gaps(api: ApiHarness) -> None:
    ids = batch(api, api.key("worker"), 2500)
    pages = walk(api, api.key("auditor"), "/events", limit=100)
    seen = [item["id"] for page in pages for item in page]
    assert [len(page) for page in pages] == [100] * 25 + [0]  # a full last page still has a `next`
    assert seen == sorted(ids) and len(set(seen)) == 2500


def test_list_filters(api: ApiHarness) -> None:
    worker, reader = api.key("worker"), api.key("auditor")
    first = submit(api, worker, event("cust-x")).json()
    second = submit(api, worker, event("cust-x", event_type="fraud_alert")).json()
    third = submit(api, worker, event("cust-y")).json()
    assert patch_status(api, third["id"], worker, "processing").status_code == 200

    def ids(**params: Any) -> list[int]:
        response = api.client.get("/events", params=params, headers=reader)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [first["id"], second["id"], third["id"]]
    assert ids(customer_id="cust-x") == [first["id"], second["id"]]
    assert ids(event_type="fraud_alert") == [second["id"]]
    assert ids(status="processing") == [third["id"]]
    assert ids(status="queued", customer_id="cust-x", event_type="loan_application") == [first["id"]]
    assert ids(created_after=first["created_at"]) == [second["id"], third["id"]]
    assert ids(created_before=second["created_at"]) == [first["id"]]
    assert ids(customer_id="nobody") == []


def test_list_a_short_page_has_no_next(module_api: ApiHarness) -> None:
    api = module_api
    submit(api, api.key("worker"), event("cust-short"))
    response = api.client.get("/events?limit=5&customer_id=cust-short", headers=api.key("auditor"))
    assert len(response.json()["items"]) == 1 and response.json()["next"] is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=1001", "AL019"),
        ("limit=0", "AL019"),
        (f"limit={2**31}", "validation"),
        ("status=done", "validation"),
        ("created_after=yesterday", "validation"),
        (f"customer_id={'c' * 65}", "23514"),
        (f"event_type={'t' * 51}", "23514"),
        ("customer_id=%00", "validation"),
        ("event_type=a%00b", "validation"),
    ],
)
def test_list_with_a_bad_parameter_is_422(module_api: ApiHarness, query: str, code: str) -> None:
    # The database refuses what its rules state (AL019, a domain's 23514); the API what it cannot pass on.
    assert_problem(module_api.client.get(f"/events?{query}", headers=module_api.key("auditor")), 422, code)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "eyJ4IjogMX0",
        "eyJhZnRlciI6IC0xfQ",
        "eyJhZnRlciI6ICIxIn0",
        "x" * 201,
        "eyJhZnRlciI6IGZhbHNlfQ",
        "eyJhZnRlciI6IHRydWV9",
    ],
    ids=["not-base64", "no-after", "negative", "a-string", "too-long", "false", "true"],
)
def test_list_with_a_garbage_cursor_is_422(module_api: ApiHarness, cursor: str) -> None:
    key = module_api.key("auditor")
    event_id = submit(module_api, module_api.key("submitter"), event()).json()["id"]
    for path in ("/events", "/events/pending", f"/events/{event_id}/history"):
        assert_problem(module_api.client.get(path, params={"cursor": cursor}, headers=key), 422, "validation")


# --- GET /events/pending ------------------------------------------------------------------------


def test_pending_lists_queued_events_oldest_first_with_a_cursor(api: ApiHarness) -> None:
    worker, submitter = api.key("worker"), api.key("submitter")
    ids = batch(api, submitter, 7)
    claimed = ids[2]
    assert patch_status(api, claimed, worker, "processing").status_code == 200
    pages = walk(api, submitter, "/events/pending", limit=2)
    assert [[item["id"] for item in page] for page in pages] == [ids[0:2], ids[3:5], ids[5:7], []]
    assert {item["status"] for page in pages for item in page} == {"queued"}
    # A submitter reads what its principal submitted: another submitter sees none of these.
    assert walk(api, api.key("submitter"), "/events/pending", limit=2) == [[]]


# --- GET /events/{id}/history -------------------------------------------------------------------


def test_history_lists_the_audit_rows_and_verifies_the_chain(module_api: ApiHarness) -> None:
    api = module_api
    worker = api.key("worker", "underwriter-h")
    event_id = submit(api, worker, event()).json()["id"]
    patch_status(api, event_id, worker, "processing")
    response = api.client.get(f"/events/{event_id}/history", headers=api.key("auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["event_id"] == event_id
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in body["entries"]] == [
        (None, "queued", "underwriter-h"),
        ("queued", "processing", "underwriter-h"),
    ]
    assert body["entries"][1]["prev_hash"] == body["entries"][0]["hash"]
    assert body["verification"] == {"ok": True, "rows_checked": 2, "broken_seq": None, "problem": None}


def test_history_of_an_unknown_event_is_404_al001(module_api: ApiHarness) -> None:
    assert_problem(module_api.client.get("/events/999999/history", headers=module_api.key("auditor")), 404, "AL001")


# --- PATCH /events/{id}/status ------------------------------------------------------------------


def test_status_by_query_processing_then_approved_then_completed(module_api: ApiHarness) -> None:
    """The tutorial's form: ?status= alone, by the same key, in the name of its principal. A
    decision drops the lease, so the follow-up action is claimed first (POST /claims/actions) and
    completed under that lease, with its token."""
    api = module_api
    api.principal("agent-q", "agent")
    worker = api.key("worker", "agent-q-key", principal="agent-q")
    event_id = submit(api, worker, event("cust-q")).json()["id"]
    for status in ("processing", "approved"):
        response = patch_status(api, event_id, worker, status)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["changed_by"]) == (status, "agent-q")
    body = nothing_written(api, lambda: patch_status(api, event_id, worker, "completed"), 409, "AL009")
    assert "claim it" in body["detail"], body
    claims = api.client.post("/claims/actions", json={"limit": 100}, headers=worker).json()["items"]
    [token] = [claim["lease_token"] for claim in claims if claim["id"] == event_id]
    response = api.client.patch(
        f"/events/{event_id}/status", json={"status": "completed", "lease_token": token}, headers=worker
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["changed_by"], response.json()["version"]) == (
        "completed",
        "agent-q",
        4,  # claiming the action takes a lease without a change of status
    )


def test_status_by_json_body_with_reason_and_result(module_api: ApiHarness) -> None:
    api = module_api
    analyst = api.key("worker", "analyst-j", kind="human")  # a person working events by hand
    event_id = submit(api, api.key("worker"), event()).json()["id"]
    assert (
        api.client.patch(f"/events/{event_id}/status", json={"status": "processing"}, headers=analyst).status_code
        == 200
    )
    response = api.client.patch(
        f"/events/{event_id}/status",
        headers=analyst,
        json={
            "status": "rejected",
            "reason": "debt ratio too high",
            "result": {"score": 0.8},
            "details": {"model": "risk-v4"},
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["status"], changed["result"], changed["change_reason"], changed["changed_by_kind"]) == (
        "rejected",
        {"score": 0.8},
        "debt ratio too high",
        "human",
    )
    assert api.sql(
        "SELECT actor, reason, details FROM api.event_history(%s) WHERE to_status = 'rejected'", event_id
    ) == [("analyst-j", "debt ratio too high", {"model": "risk-v4", "result": {"score": 0.8}})]


def test_status_query_and_body_must_agree(module_api: ApiHarness) -> None:
    api = module_api
    worker = api.key("worker")
    event_id = submit(api, worker, event()).json()["id"]
    path = f"/events/{event_id}/status"
    nothing_written(
        api,
        lambda: api.client.patch(f"{path}?status=failed", json={"status": "processing"}, headers=worker),
        422,
        "validation",
    )
    assert (
        api.client.patch(f"{path}?status=processing", json={"status": "processing"}, headers=worker).status_code == 200
    )


@pytest.mark.parametrize(
    "request_kwargs, code",
    [
        ({"params": {"status": "done"}}, "AL020"),
        ({"json": {"status": "done"}}, "AL020"),
        ({}, "validation"),
        ({"json": {"status": "processing", "colour": "red"}}, "validation"),
        ({"json": {"status": "processing", "reason": "x" * 4001}}, "23514"),
        ({"json": {"status": "processing", "reason": "a\x00b"}}, "validation"),
        ({"json": {"status": "processing", "result": [1]}}, "validation"),
    ],
    ids=[
        "unknown-status-query",
        "unknown-status-body",
        "no-status",
        "unknown-field",
        "long-reason",
        "nul-reason",
        "result-not-object",
    ],
)
def test_status_bad_requests_are_422(module_api: ApiHarness, request_kwargs: dict, code: str) -> None:
    api = module_api
    worker = api.key("worker")
    event_id = submit(api, worker, event()).json()["id"]
    body = nothing_written(
        api, lambda: api.client.patch(f"/events/{event_id}/status", headers=worker, **request_kwargs), 422, code
    )
    if code == "AL020":
        assert "'done'" in body["detail"] and "processing" in body["hint"]


def test_an_invalid_transition_is_409_with_the_database_message_and_hint(module_api: ApiHarness) -> None:
    api = module_api
    worker = api.key("worker")
    event_id = submit(api, worker, event()).json()["id"]
    body = nothing_written(api, lambda: patch_status(api, event_id, worker, "completed"), 409, "AL003")
    assert body["detail"] == f"event {event_id} cannot go from queued to completed"
    assert body["hint"] == f"event {event_id} is queued; from queued it may go to processing, failed"


def test_status_of_an_unknown_event_is_404_al001(module_api: ApiHarness) -> None:
    assert_problem(patch_status(module_api, 31337, module_api.key("worker"), "processing"), 404, "AL001")


def test_another_principal_cannot_act_on_an_event_the_first_claimed(module_api: ApiHarness) -> None:
    """409 AL009: a claim through PATCH leases the event to the claiming key's principal; another
    principal's key may not move it, while another key of the same principal may."""
    api = module_api
    api.principal("agent-a", "agent")
    first, second = api.key("worker", "agent-a-key-1", principal="agent-a"), api.key("worker", "agent-b")
    event_id = submit(api, first, event()).json()["id"]
    assert patch_status(api, event_id, first, "processing").status_code == 200
    for status in ("approved", "rejected", "failed", "queued"):
        body = nothing_written(api, lambda status=status: patch_status(api, event_id, second, status), 409, "AL009")
        assert "held by agent-a" in body["detail"] and body["hint"]
    same_principal = api.key("worker", "agent-a-key-2", principal="agent-a")
    assert patch_status(api, event_id, same_principal, "approved").status_code == 200


def test_a_reviewer_key_may_not_change_a_status(module_api: ApiHarness) -> None:
    """Reviewers give verdicts on events in review (POST /events/{id}/reviews); they record no outcomes."""
    api = module_api
    event_id = submit(api, api.key("worker"), event()).json()["id"]
    body = nothing_written(api, lambda: patch_status(api, event_id, api.key("reviewer"), "processing"), 403)
    assert "reviewer" in body["detail"], body


# --- every error carries a code -----------------------------------------------------------------


@pytest.mark.parametrize("case", ["body-too-large", "no-key", "forbidden"])
def test_every_error_body_has_a_code(module_make_api, case: str) -> None:
    api = module_make_api(max_body_bytes=1024)
    send = {
        "body-too-large": lambda: raw_post(api, api.key("submitter"), OVERSIZED),
        "no-key": lambda: api.client.post("/events", json=event()),
        "forbidden": lambda: api.client.post("/events", json=event(), headers=api.key("auditor")),
    }[case]
    assert "code" in send().json()


# --- input JSON or PostgreSQL cannot hold: refused with 422, never stored -----------------------


def refused_or_readable(api: ApiHarness, key: dict[str, str], send: Callable[[], Any]) -> None:
    """A request is either refused with a 4xx that wrote nothing, or it succeeded and every event
    it wrote can be read back through GET /events/{id}, GET /events and GET /events/pending."""
    before = api.totals()
    response = send()
    if response.status_code >= 400:
        assert response.status_code < 500, response.text
        assert api.totals() == before, "refused, but written"
        return
    for (event_id,) in api.sql("SELECT id FROM ledger.events ORDER BY id DESC LIMIT %s", api.totals()[0] - before[0]):
        assert api.client.get(f"/events/{event_id}", headers=key).status_code == 200
    assert api.client.get("/events", headers=key).status_code == 200
    assert api.client.get("/events/pending", headers=key).status_code == 200


def cancel(api: ApiHarness, customer_id: str) -> None:
    """Cancel the customer's queued events, so an unreadable one leaves GET /events/pending alone."""
    api.sql(
        "SELECT count(*) FROM ledger.events e, api.cancel_event(e.id, 'unreadable test event') "
        "WHERE e.customer_id = %s AND e.status = 'queued'",
        customer_id,
    )


def raw_body(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


BAD_JSON_VALUES = {
    "nan": "NaN",
    "infinity": "1e999",  # Python's json accepts these; JSON and jsonb do not
    "lone-surrogate": '"\\ud800"',
    "nested-300-deep": '{"a":' * 300 + "1" + "}" * 300,  # stored, then too deep to serialise
}


@pytest.mark.parametrize("value", BAD_JSON_VALUES.values(), ids=BAD_JSON_VALUES.keys())
def test_a_payload_value_json_cannot_hold_is_refused_or_readable(module_api: ApiHarness, value: str) -> None:
    api, key = module_api, module_api.key("worker")
    body = raw_body('{"customer_id": "cust-odd", "event_type": "loan_application", "payload": {"v": ' + value + "}}")
    try:
        refused_or_readable(api, key, lambda: raw_post(api, key, body))
    finally:
        cancel(api, "cust-odd")


def test_a_batch_with_nan_is_not_stored_with_nulls(module_api: ApiHarness) -> None:
    api, key = module_api, module_api.key("worker")
    body = b'[{"customer_id": "cust-nan-batch", "event_type": "loan_application", "payload": {"x": NaN}}]'
    response = api.client.post("/events/batch", content=body, headers={**key, "Content-Type": "application/json"})
    stored = api.sql("SELECT payload FROM ledger.events WHERE customer_id = 'cust-nan-batch'")
    assert response.status_code == 422 and stored == [], (response.status_code, stored)


def test_a_lone_surrogate_in_customer_id_is_422(module_api: ApiHarness) -> None:
    key = module_api.key("worker")
    body = raw_body('{"customer_id": "\\ud800", "event_type": "loan_application", "payload": {}}')
    nothing_written(module_api, lambda: raw_post(module_api, key, body), 422)


def test_a_run_after_before_year_1_is_refused_or_readable(module_api: ApiHarness) -> None:
    api, key = module_api, module_api.key("worker")
    try:
        refused_or_readable(api, key, lambda: submit(api, key, event("cust-bc", run_after="0001-01-01T00:00:00+05:00")))
    finally:
        cancel(api, "cust-bc")
