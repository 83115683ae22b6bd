"""Errors as the API answers them: the README's SQLSTATE -> HTTP table is the one the code uses,
and a database that cannot be reached gives 503 problems (with Retry-After), never 500s."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentledger_api import create_app
from agentledger_api.problems import SQLSTATE_STATUS
from agentledger_api.settings import ApiSettings
from tests.support.api import assert_problem, bearer, event
from tests.support.docs import section

# A port nothing listens on: connections are refused at once.
UNREACHABLE = "postgresql://agentledger_api@127.0.0.1:1/agentledger"


def readme_error_table() -> dict[str, int]:
    """SQLSTATE -> HTTP status, from the table under the "Error codes" heading (docs/errors.md)."""
    header, *rows = [line for line in section("Error codes").splitlines() if line.startswith("|")]
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    code_col, http_col = columns.index("SQLSTATE"), columns.index("HTTP")
    table: dict[str, int] = {}
    for row in rows:
        if re.fullmatch(r"\|[-| :]+\|", row):
            continue  # the separator line
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip("|"))]
        table[cells[code_col].strip("`")] = int(cells[http_col])
    return table


def test_the_readme_error_table_is_the_one_the_api_uses() -> None:
    documented = readme_error_table()
    assert len(documented) >= 18  # the parse found the table, not a fragment of it
    assert documented == {code: status for code, (status, _title) in SQLSTATE_STATUS.items()}


@pytest.fixture
def offline() -> Iterator[TestClient]:
    """An app whose database is unreachable; it starts anyway and waits at most 0.5 s for a connection."""
    settings = ApiSettings(database_url=UNREACHABLE, pool_min_size=1, pool_max_size=2, pool_timeout_seconds=0.5)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_readyz_is_503_with_retry_after_while_healthz_stays_200(offline: TestClient) -> None:
    assert offline.get("/healthz").status_code == 200
    started = time.monotonic()
    response = offline.get("/readyz")
    assert time.monotonic() - started < 5, "readyz waited longer than the pool timeout allows"
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    assert offline.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/events", None),
        ("POST", "/events", event()),
        ("GET", "/events/1", None),
        ("PATCH", "/events/1/status?status=processing", None),
    ],
)
def test_a_request_while_the_database_is_away_is_503_not_500(
    offline: TestClient, method: str, path: str, body: dict | None
) -> None:
    """The key cannot be checked without the database: the answer is 'retry', not a server fault."""
    response = offline.request(method, path, json=body, headers=bearer("al_" + "ab" * 32))
    problem = assert_problem(response, 503)
    assert "retry" in problem["detail"].lower()
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-request-id"] == problem["request_id"]


def test_metrics_are_503_while_the_database_is_away(offline: TestClient) -> None:
    """Without the database no key can be checked, so /metrics is 503 too, not a 500."""
    assert_problem(offline.get("/metrics", headers=bearer("al_" + "cd" * 32)), 503)
