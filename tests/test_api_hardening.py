"""What an ordinary client cannot do to the API: read its documentation when it is switched off,
flood it with bad keys, send huge headers, replay the whole trail, make every statistics call scan
the events, or read an unbounded history."""

from __future__ import annotations

import pytest

from agentledger_api.settings import ApiSettings, SettingsError
from tests.support.api import ApiHarness, assert_problem
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
