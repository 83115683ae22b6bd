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
