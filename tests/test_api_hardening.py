"""What an ordinary client cannot do to the API: read its documentation when it is switched off,
flood it with bad keys, send huge headers, replay the whole trail, make every statistics call scan
the events, or read an unbounded history."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agentledger_api import auth
from agentledger_api.settings import ApiSettings, SettingsError
from tests.support.api import ApiHarness, assert_problem, bearer
from tests.support.databases import REPO_ROOT

DOC_PATHS = ("/docs", "/redoc", "/openapi.json")


# --- documentation ------------------------------------------------------------------------------


def test_the_docs_are_served_by_default(module_api: ApiHarness) -> None:
    for path in DOC_PATHS:
        assert module_api.client.get(path).status_code == 200, path


def test_the_docs_switched_off_are_404(module_make_api) -> None:
    api = module_make_api(docs=False)
    for path in DOC_PATHS:
        assert_problem(api.client.get(path), 404)
    assert api.client.get("/healthz").status_code == 200


@pytest.mark.parametrize(("raw", "value"), [("off", False), ("OFF", False), ("0", False), ("on", True), ("1", True)])
def test_agentledger_docs_reads_on_and_off(raw: str, value: bool) -> None:
    env = {"DATABASE_URL": "postgresql://nowhere/none", "AGENTLEDGER_DOCS": raw}
    assert ApiSettings.from_env(env, dotenv=None).docs is value


def test_agentledger_docs_refuses_other_words() -> None:
    with pytest.raises(SettingsError, match="AGENTLEDGER_DOCS"):
        ApiSettings.from_env({"DATABASE_URL": "postgresql://x/y", "AGENTLEDGER_DOCS": "maybe"}, dotenv=None)


def test_every_setting_is_documented() -> None:
    """Each environment variable of ApiSettings is in the settings table of docs/http-api.md and in
    the configuration table of docs/operations.md."""
    docs = REPO_ROOT / "docs"
    for name in ApiSettings.ENV.values():
        if name == "DATABASE_URL":
            continue
        assert f"`{name}`" in (docs / "http-api.md").read_text(), name
        assert f"`{name}`" in (docs / "operations.md").read_text(), name


# --- headers ------------------------------------------------------------------------------------


def test_a_huge_header_is_431_before_the_key_is_looked_at(module_api: ApiHarness) -> None:
    response = module_api.client.get("/events", headers={"X-Filler": "a" * (4 * 1024 * 1024)})
    body = assert_problem(response, 431, "headers_too_large")
    assert "AGENTLEDGER_MAX_HEADER_BYTES" in body["detail"] and body["request_id"]
    assert response.headers["connection"] == "close"


def test_too_many_headers_are_431(module_make_api) -> None:
    api = module_make_api(max_headers=20)
    headers = {f"X-Extra-{n}": "1" for n in range(25)}
    assert_problem(api.client.get("/healthz", headers=headers), 431, "headers_too_large")
    assert api.client.get("/healthz", headers=dict(list(headers.items())[:10])).status_code == 200


def test_headers_within_the_limits_pass(module_make_api) -> None:
    api = module_make_api(max_header_bytes=4096)
    assert api.client.get("/healthz", headers={"X-Filler": "a" * 3000}).status_code == 200
    assert_problem(api.client.get("/healthz", headers={"X-Filler": "a" * 5000}), 431)


# --- bad keys -----------------------------------------------------------------------------------


def random_key() -> dict[str, str]:
    return bearer("al_" + secrets.token_hex(32))


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The keys looked up in the database (api.authenticate_api_key), in order."""
    seen: list[Any] = []
    real = auth.fetch_one

    async def counting(pool: Any, query: str, params: Any = None) -> Any:
        if "authenticate_api_key" in query:
            seen.append(params["key"])
        return await real(pool, query, params)

    monkeypatch.setattr(auth, "fetch_one", counting)
    yield seen


def test_a_flood_of_random_keys_is_429_after_a_few_lookups(module_make_api, lookups: list[Any]) -> None:
    api = module_make_api(auth_failures_per_minute=5)
    valid = api.key("auditor")
    assert api.client.get("/events?limit=1", headers=valid).status_code == 200  # now cached
    statuses = [api.client.get("/events", headers=random_key()).status_code for _ in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    assert len(lookups) == 1 + 5, "the refused guesses cost no database lookup"
    response = api.client.get("/events", headers=random_key())
    body = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 12 and "address" in body["detail"]
    assert_problem(api.client.get("/events"), 429)  # no key at all: a failure too
    assert api.client.get("/events?limit=1", headers=valid).status_code == 200, "a cached valid key still works"
    # The budget is per client address: another address is not held back by this one's failures.
    other = TestClient(api.client.app, client=("192.0.2.7", 40000))
    assert_problem(other.get("/events", headers=bearer("not-a-key")), 401)


def test_valid_keys_do_not_spend_the_failure_budget(module_make_api) -> None:
    api = module_make_api(auth_failures_per_minute=2, key_cache_seconds=0)
    valid = api.key("auditor")
    for _ in range(5):
        assert api.client.get("/events?limit=1", headers=valid).status_code == 200


def test_a_repeated_bad_key_costs_one_lookup(module_make_api, lookups: list[Any]) -> None:
    api = module_make_api(auth_failures_per_minute=0, key_cache_seconds=60)
    bad = random_key()
    for _ in range(10):
        assert_problem(api.client.get("/events", headers=bad), 401)
    assert len(lookups) == 1


def test_unknown_keys_never_evict_a_cached_valid_key(
    module_make_api, monkeypatch: pytest.MonkeyPatch, lookups: list[Any]
) -> None:
    monkeypatch.setattr(auth, "CACHE_SIZE", 3)
    api = module_make_api(auth_failures_per_minute=0, key_cache_seconds=60)
    _, key = api.new_key("auditor")
    assert api.client.get("/events?limit=1", headers=bearer(key)).status_code == 200
    for _ in range(10):
        assert_problem(api.client.get("/events", headers=random_key()), 401)
    # Still cached: the key is not looked up again (the database still checks it in each call).
    assert api.client.get("/events?limit=1", headers=bearer(key)).status_code == 200
    assert lookups.count(key) == 1


# --- statistics ---------------------------------------------------------------------------------


def queued(api: ApiHarness, headers: dict[str, str]) -> int:
    counts = api.client.get("/stats", headers=headers).json()["counts"]
    return sum(c["events"] for c in counts if c["status"] == "queued" and c["event_type"] == "fraud_alert")


def test_stats_are_cached_for_a_short_time(module_make_api) -> None:
    api = module_make_api(stats_cache_seconds=1.0)
    reader = api.key("auditor")
    api.sql("SELECT api.submit_event('cust-stats', 'fraud_alert', '{}')")
    before = queued(api, reader)
    api.sql("SELECT api.submit_event('cust-stats', 'fraud_alert', '{}')")
    assert queued(api, reader) == before, "answered from the cache"
    metrics = api.client.get("/metrics", headers=reader).text
    assert f'agentledger_events{{event_type="fraud_alert",status="queued"}} {before}\n' in metrics, "the same answer"
    time.sleep(1.1)
    assert queued(api, reader) == before + 1, "refreshed once the answer is older than the setting"


def test_concurrent_stats_requests_make_one_database_call(module_make_api) -> None:
    api = module_make_api(stats_cache_seconds=60)
    reader = api.key("auditor")
    api.client.get("/events?limit=1", headers=reader)  # the key is cached: only statistics are asked
    paths = ["/stats", "/metrics"] * 20
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda path: api.client.get(path, headers=reader).status_code, paths))
    assert statuses == [200] * len(paths)
    assert api.client.app.state.queue_stats.refreshes == 1


def test_stats_cache_zero_asks_every_time(module_make_api) -> None:
    api = module_make_api(stats_cache_seconds=0)
    reader = api.key("auditor")
    before = queued(api, reader)
    api.sql("SELECT api.submit_event('cust-stats', 'fraud_alert', '{}')")
    assert queued(api, reader) == before + 1


# --- history ------------------------------------------------------------------------------------


def event_with_history(api: ApiHarness, moves: int) -> tuple[int, list[int]]:
    """A new support_ticket claimed and released `moves` times: 1 + 2 * moves audit rows; its id and seqs."""
    event_id = api.sql("SELECT id FROM api.submit_event('cust-history', 'support_ticket', '{}')")[0][0]
    for _ in range(moves):
        [(token,)] = api.sql(
            "SELECT lease_token FROM api.claim_events('history-worker', 1, ARRAY['support_ticket']) WHERE id = %s",
            event_id,
        )
        api.sql("SELECT * FROM api.release_events(ARRAY[%s::bigint], ARRAY[%s::uuid], 'page test')", event_id, token)
    seqs = [r[0] for r in api.sql("SELECT seq FROM ledger.audit_log WHERE event_id = %s ORDER BY seq", event_id)]
    return event_id, seqs


def test_history_comes_a_page_at_a_time_with_the_whole_chain_verified(module_api: ApiHarness) -> None:
    api, reader = module_api, module_api.key("auditor")
    event_id, seqs = event_with_history(api, 3)
    assert len(seqs) == 7
    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.client.get(f"/events/{event_id}/history", params=params, headers=reader)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["verification"]["ok"] is True and body["verification"]["rows_checked"] == 7, body
        pages.append([entry["seq"] for entry in body["entries"]])
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == [seqs[0:3], seqs[3:6], seqs[6:7]]
    whole = api.client.get(f"/events/{event_id}/history", headers=reader).json()
    assert [e["seq"] for e in whole["entries"]] == seqs and whole["next"] is None, "100 rows a page by default"


def test_history_pages_are_bounded(module_api: ApiHarness) -> None:
    api, reader = module_api, module_api.key("auditor")
    event_id, _ = event_with_history(api, 0)
    for limit in (0, 1001, 5000):
        assert_problem(api.client.get(f"/events/{event_id}/history?limit={limit}", headers=reader), 422, "AL019")
    assert_problem(api.client.get(f"/events/{event_id}/history?cursor=nonsense", headers=reader), 422, "validation")
    assert_problem(api.client.get("/events/999999999/history?limit=10", headers=reader), 404, "AL001")
