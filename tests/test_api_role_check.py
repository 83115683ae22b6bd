"""The API serves only as a member of agentledger_api: given a superuser's DATABASE_URL it
answers 503 and never runs a query with more rights than the API role has."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agentledger_api import create_app
from agentledger_api.settings import ApiSettings


def test_a_superuser_connection_is_refused(fresh_db: str) -> None:
    settings = ApiSettings(database_url=fresh_db, pool_min_size=1, pool_max_size=1, pool_timeout_seconds=1)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        with_key = client.get("/events", headers={"Authorization": "Bearer al_" + "0" * 64})
        assert with_key.status_code == 503, "no request reaches the database as a superuser"


def test_a_login_in_another_group_is_refused(fresh_db: str, login_as) -> None:
    settings = ApiSettings(
        database_url=login_as(fresh_db, "agentledger_worker"), pool_min_size=1, pool_max_size=1, pool_timeout_seconds=1
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503
