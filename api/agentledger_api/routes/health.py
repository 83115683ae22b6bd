"""Liveness, readiness and metrics: the endpoints that need no key."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from agentledger_api.database import fetch_one
from agentledger_api.deps import AppMetrics, CachedStats, Pool, Reader
from agentledger_api.problems import Problem
from agentledger_api.responses import Status

router = APIRouter(tags=["health"])

# The newest database functions this API calls: present means the schema is deployed far enough.
REQUIRED_FUNCTIONS = (
    "api.authenticate_api_key(text)",
    "api.claim_events(text, integer, text[], timestamptz, text)",
    "api.event_history_page(bigint, bigint, integer, text)",
    "api.transition_event(bigint, text, text, jsonb, jsonb, timestamptz, uuid, text)",
)


@router.get("/healthz", summary="The process is up")
async def healthz() -> Status:
    return Status(status="ok")


@router.get("/readyz", summary="The database is reachable and the schema deployed")
async def readyz(pool: Pool) -> Status:
    try:
        async with asyncio.timeout(1.5):  # a readiness probe wants an answer, not the pool's wait
            row = await fetch_one(
                pool,
                "SELECT array_agg(f) FILTER (WHERE to_regprocedure(f) IS NULL) AS missing "
                "FROM unnest(%(functions)s::text[]) f",
                {"functions": list(REQUIRED_FUNCTIONS)},
            )
    except Problem:
        raise
    except Exception:
        raise Problem(
            503,
            "Database unavailable",
            "The database cannot be reached.",
            code="unavailable",
            headers={"Retry-After": "2"},
        ) from None
    missing = (row or {}).get("missing")
    if missing:
        raise Problem(
            503,
            "Schema not deployed",
            f"Missing database functions: {', '.join(missing)}. "
            "Deploy with `agentledger db deploy` or `sqitch deploy`.",
            code="schema_not_deployed",
            headers={"Retry-After": "10"},
        )
    return Status(status="ready")


# The Prometheus text format, documented as what it is: text.
METRICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Metrics in the Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse, responses=METRICS_RESPONSE)
async def metrics(cached: CachedStats, app_metrics: AppMetrics, _: Reader) -> PlainTextResponse:
    depth: list[tuple[str, str, int]] = []
    breaches: list[tuple[str, str, int, int]] = []
    try:
        stats = await cached.get()
        depth = [(c["event_type"], c["status"], c["events"]) for c in stats.get("counts", [])]
        breaches = [
            (b["event_type"], b["deadline"], b["events"], b["open"]) for b in stats.get("deadline_breaches", [])
        ]
    except Exception:
        pass  # metrics of the process are still worth serving while the database is away
    return PlainTextResponse(app_metrics.render(depth, breaches), media_type="text/plain; version=0.0.4")
