"""API keys over HTTP: 401 without a valid key (also a revoked one, or one of a deactivated
principal), 403 for a role without the permission, 429 over the budget; the key's principal as the
audit actor and the key's name beside it; request ids; the endpoints that need no key; /metrics."""

from __future__ import annotations

import inspect
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute

from agentledger_api.auth import PERMISSIONS, Caller, KeyInfo
from agentledger_api.routes import ROUTERS, events, health
from tests.support.api import ApiHarness, assert_problem, bearer, event

ROLES = ("submitter", "worker", "reviewer", "auditor")


def route_permission(method: str, path: str) -> str | None:
    """The PERMISSIONS entry the route's allow(...) dependency checks; None if it needs no key.

    Read from the routers the app mounts (without a prefix): the closure of allow(permission)
    holds the permitted roles, which name the permission.
    """
    route = next(
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and method in r.methods
    )
    for dependency in route.dependant.dependencies:
        roles = inspect.getclosurevars(dependency.call).nonlocals.get("roles")
        if roles is not None:
            return next(name for name, allowed in PERMISSIONS.items() if allowed == roles)
    return None


def new_event(api: ApiHarness, headers: dict[str, str]) -> int:
    """An event the key may read: submitted with the key if it may submit (a submitter reads only
    what its principal submitted), else by the administrator."""
    response = api.client.post("/events", json=event("cust-auth"), headers=headers)
    if response.status_code == 201:
        return int(response.json()["id"])
    return api.sql("SELECT id FROM api.submit_event('cust-auth', 'loan_application', '{}')")[0][0]


# Each keyed route of the events and health modules, as (method, path template, request to send).
REQUESTS: dict[tuple[str, str], Callable[[ApiHarness, dict[str, str]], Any]] = {
    ("POST", "/events"): lambda api, h: api.client.post("/events", json=event(), headers=h),
    ("POST", "/events/batch"): lambda api, h: api.client.post("/events/batch", json=[event()], headers=h),
    ("GET", "/events"): lambda api, h: api.client.get("/events", headers=h),
    ("GET", "/events/pending"): lambda api, h: api.client.get("/events/pending", headers=h),
    ("GET", "/events/{event_id}"): lambda api, h: api.client.get(f"/events/{new_event(api, h)}", headers=h),
    ("GET", "/events/{event_id}/history"): lambda api, h: api.client.get(
        f"/events/{new_event(api, h)}/history", headers=h
    ),
    ("PATCH", "/events/{event_id}/status"): lambda api, h: api.client.patch(
        f"/events/{new_event(api, h)}/status?status=processing", headers=h
    ),
    ("GET", "/metrics"): lambda api, h: api.client.get("/metrics", headers=h),
}


# --- 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("al_" + secrets.token_hex(32)),
        bearer("not-a-key"),
        bearer("al_" + "0" * 300),
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"X-API-Key": "al_" + secrets.token_hex(32)},
    ],
    ids=["none", "unknown", "malformed", "over-200-chars", "basic-scheme", "unknown-x-api-key"],
)
def test_without_a_valid_key_every_keyed_route_is_401(module_api: ApiHarness, headers: dict[str, str]) -> None:
    for (method, path), send in REQUESTS.items():
        before = module_api.totals()
        response = send(module_api, headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", (method, path)
        assert module_api.totals()[0] - before[0] <= 1  # only the setup's own event, if any
        assert "al_" not in response.text, "a key is never echoed back"


def test_the_key_may_come_as_x_api_key(module_api: ApiHarness) -> None:
    _, key = module_api.new_key("auditor")
    assert module_api.client.get("/events?limit=1", headers={"X-API-Key": key}).status_code == 200


def test_a_revoked_key_is_401_at_once_without_the_key_cache(module_make_api) -> None:
    api = module_make_api(key_cache_seconds=0)
    name, key = api.new_key("worker")
    assert api.client.get("/events?limit=1", headers=bearer(key)).status_code == 200
    api.sql("SELECT api.revoke_api_key(%s, 'leaked in a log file')", name)
    assert_problem(api.client.get("/events?limit=1", headers=bearer(key)), 401)
    assert_problem(api.client.post("/events", json=event(), headers=bearer(key)), 401)


def test_a_revoked_key_is_refused_by_the_database_even_while_cached(module_make_api) -> None:
    """The cache spares only the key lookup: every database call gets the key and checks it again,
    so a revoked key is 401 (SQLSTATE 28000, shaped as the API's own 401) at its next such call.
    What needs no database call (/stats, answered from its own cache) works until the cached entry
    expires: the documented trade-off."""
    api = module_make_api(key_cache_seconds=60)
    name, key = api.new_key("worker")
    assert api.client.get("/events?limit=1", headers=bearer(key)).status_code == 200
    api.sql("SELECT api.revoke_api_key(%s, 'rotated')", name)
    before = api.totals()
    for response in (
        api.client.get("/events?limit=1", headers=bearer(key)),
        api.client.post("/events", json=event(), headers=bearer(key)),
        api.client.post("/claims", json={"limit": 1}, headers=bearer(key)),
    ):
        body = assert_problem(response, 401, "28000")
        assert response.headers["www-authenticate"] == "Bearer" and body["detail"] and body["hint"], body
        assert "al_" not in response.text
    assert api.totals() == before
    assert api.client.get("/stats", headers=bearer(key)).status_code == 200
    assert_problem(module_make_api(key_cache_seconds=60).client.get("/events", headers=bearer(key)), 401)


@pytest.mark.parametrize("cache_seconds", [0, 60], ids=["uncached", "cached"])
def test_a_key_of_a_deactivated_principal_is_401(module_make_api, cache_seconds: int) -> None:
    """Deactivating a principal stops all its keys at once, whatever the key cache holds."""
    api = module_make_api(key_cache_seconds=cache_seconds)
    principal = api.principal(kind="agent")
    _, first = api.new_key("worker", principal=principal)
    _, second = api.new_key("submitter", principal=principal)
    assert api.client.post("/events", json=event("cust-gone"), headers=bearer(first)).status_code == 201
    assert api.client.get("/events?limit=1", headers=bearer(second)).status_code == 200
    api.sql("SELECT api.deactivate_principal(%s, 'agent retired')", principal)
    before = api.totals()
    for key in (first, second):
        assert_problem(api.client.post("/events", json=event("cust-gone"), headers=bearer(key)), 401)
        assert_problem(api.client.get("/events?limit=1", headers=bearer(key)), 401)
    assert api.totals() == before


# --- 403 ----------------------------------------------------------------------------------------


def test_the_routes_check_the_permissions_the_brief_names() -> None:
    """REQUESTS covers every keyed route of the events and health routers, and the spot checks
    hold: only workers may PATCH (reviewers record no outcomes), auditors may not POST /events."""
    mounted = {
        (method, r.path)
        for router in (events.router, health.router)
        for r in router.routes
        if isinstance(r, APIRoute)
        for method in r.methods
        if route_permission(method, r.path)
    }
    assert mounted == set(REQUESTS)
    permissions = {route: route_permission(*route) for route in REQUESTS}
    assert PERMISSIONS[permissions[("PATCH", "/events/{event_id}/status")]] == {"worker"}
    assert "auditor" not in PERMISSIONS[permissions[("POST", "/events")]]
    assert route_permission("GET", "/healthz") is None
    assert route_permission("GET", "/readyz") is None


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_exactly_where_permissions_say(module_api: ApiHarness, role: str) -> None:
    """For every keyed route: 403 if the route's permission excludes the role, success otherwise."""
    headers = module_api.key(role)
    for (method, path), send in REQUESTS.items():
        allowed = role in PERMISSIONS[route_permission(method, path)]
        before = module_api.totals()[0]
        response = send(module_api, headers)
        if allowed:
            assert response.status_code in (200, 201), (method, path, response.text)
        else:
            body = assert_problem(response, 403)
            assert role in body["detail"], body
            assert module_api.totals()[0] - before <= 1, "a forbidden request wrote an event"


def test_a_caller_never_shows_its_key() -> None:
    """The raw key rides along with the request for the database calls, and nowhere else."""
    key = "al_" + secrets.token_hex(32)
    caller = Caller(KeyInfo("intake-key", "submitter", "intake", ("loan_application",), None), key)
    assert (caller.name, caller.role, caller.principal, caller.key) == ("intake-key", "submitter", "intake", key)
    assert key not in repr(caller) and key not in str(caller)
    assert caller == Caller(caller.info, "al_" + "0" * 64), "compared by what the key is, not its text"


# --- 429 ----------------------------------------------------------------------------------------


def test_a_key_over_its_budget_gets_429_with_retry_after(module_make_api) -> None:
    api = module_make_api(requests_per_minute_per_key=3)
    greedy, other = api.key("auditor", "greedy-reader"), api.key("auditor")
    assert [api.client.get("/events?limit=1", headers=greedy).status_code for _ in range(3)] == [200] * 3
    response = api.client.get("/events?limit=1", headers=greedy)
    body = assert_problem(response, 429)
    assert "greedy-reader" in body["detail"]
    assert 1 <= int(response.headers["retry-after"]) <= 20  # one request's worth at 3 a minute
    assert api.client.get("/events?limit=1", headers=other).status_code == 200, "the budget is per key"
    assert api.client.get("/healthz").status_code == 200


def test_wrong_keys_do_not_spend_a_budget(module_make_api) -> None:
    api = module_make_api(requests_per_minute_per_key=3)
    for _ in range(5):
        assert_problem(api.client.get("/events", headers=bearer("al_" + secrets.token_hex(32))), 401)
    assert api.client.get("/events?limit=1", headers=api.key("auditor")).status_code == 200


# --- who did it ---------------------------------------------------------------------------------


def test_the_audit_trail_names_the_principal_as_actor_the_key_used_and_the_api_login(module_api: ApiHarness) -> None:
    """The actor is the key's principal, found by the database from the key; the key's name is
    recorded beside it (api_key), and the API's login as db_user."""
    api = module_api
    api.principal("intake-service", "service")
    api.principal("underwriter-9", "agent")
    submitter = api.key("submitter", "intake-key-2", principal="intake-service")
    worker = api.key("worker", "underwriter-9-key-1", principal="underwriter-9")
    event_id = api.client.post("/events", json=event(), headers=submitter).json()["id"]
    assert api.client.patch(f"/events/{event_id}/status?status=processing", headers=worker).status_code == 200
    expected = [
        ("queued", "intake-service", "system", "intake-key-2", api.db_user),
        ("processing", "underwriter-9", "agent", "underwriter-9-key-1", api.db_user),
    ]
    rows = api.sql(
        "SELECT to_status::text, actor, actor_kind::text, api_key, db_user FROM api.event_history(%s)", event_id
    )
    assert rows == expected
    history = api.client.get(f"/events/{event_id}/history", headers=api.key("auditor"))
    assert history.status_code == 200, history.text
    entries = history.json()["entries"]
    assert [(e["to_status"], e["actor"], e["actor_kind"], e["api_key"], e["db_user"]) for e in entries] == expected
    assert api.db_user != "postgres"
    assert api.sql("SELECT rolsuper FROM pg_roles WHERE rolname = %s", api.db_user) == [(False,)]


def test_the_access_log_names_the_key_and_its_principal_never_the_key(
    module_api: ApiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    api = module_api
    api.principal("log-reader", "human")
    name, key = api.new_key("auditor", "log-reader-key", principal="log-reader")
    with caplog.at_level(logging.INFO, logger="agentledger.api"):
        assert api.client.get("/events?limit=1", headers=bearer(key)).status_code == 200
        assert_problem(api.client.post("/events", json=event(), headers=bearer(key)), 403)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "agentledger.api"]
    assert [(line["route"], line["status"], line["key"], line["principal"]) for line in lines[-2:]] == [
        ("/events", 200, name, "log-reader"),
        ("/events", 403, name, "log-reader"),
    ]
    assert key not in caplog.text and key[3:] not in caplog.text


# --- request ids --------------------------------------------------------------------------------


def test_a_given_request_id_is_echoed(module_api: ApiHarness) -> None:
    response = module_api.client.get("/healthz", headers={"X-Request-ID": "trace-42.a:b"})
    assert response.headers["x-request-id"] == "trace-42.a:b"
    problem = module_api.client.get("/events", headers={"X-Request-ID": "trace-43"})
    assert problem.headers["x-request-id"] == "trace-43" and problem.json()["request_id"] == "trace-43"


@pytest.mark.parametrize("given", [None, "has spaces", "x" * 129], ids=["absent", "invalid", "too-long"])
def test_a_request_id_is_generated_when_none_usable_is_given(module_api: ApiHarness, given: str | None) -> None:
    response = module_api.client.get("/events", headers={"X-Request-ID": given} if given else {})
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated) and response.json()["request_id"] == generated


# --- no key needed ------------------------------------------------------------------------------


def test_healthz_and_readyz_need_no_key(module_api: ApiHarness) -> None:
    assert module_api.client.get("/healthz").json() == {"status": "ok"}
    ready = module_api.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_need_a_key_and_count_requests(module_make_api) -> None:
    api = module_make_api()  # an app of its own: counters start at zero
    assert_problem(api.client.get("/metrics"), 401)
    worker = api.key("worker")
    for _ in range(2):
        assert api.client.post("/events", json=event("cust-metrics"), headers=worker).status_code == 201
    api.client.get("/events/0", headers=worker)
    response = api.client.get("/metrics", headers=api.key("auditor"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text

    def counter(method: str, route: str, status: int) -> int:
        found = re.search(
            rf'^agentledger_http_requests_total{{method="{method}",route="{re.escape(route)}",'
            rf'status="{status}",pid="\d+"}} (\d+)$',
            text,
            re.MULTILINE,
        )
        return int(found.group(1)) if found else 0

    assert counter("POST", "/events", 201) == 2
    assert counter("GET", "/events/{event_id}", 422) == 1
    assert counter("GET", "/metrics", 401) == 1
    assert re.search(r'^agentledger_http_request_duration_seconds_count\{route="/events",pid="\d+"\} 2$', text, re.M)
    assert re.search(r'^agentledger_events\{event_type="loan_application",status="queued"\} \d+$', text, re.M)
