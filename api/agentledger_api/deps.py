"""The routes' dependencies, as `Annotated` aliases (FastAPI's recommended form): what the app holds
(the pool, the settings, the live feed, the metrics, the cached statistics), the caller behind the API key, and one alias
per permission of auth.PERMISSIONS, which answers 401 or 403 before the route runs.

    async def get_event(event_id: EventIdPath, pool: Pool, _: Reader) -> Event: ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from psycopg_pool import AsyncConnectionPool

from agentledger_api.auth import Caller, allow
from agentledger_api.feed import AuditFeed
from agentledger_api.metrics import Metrics
from agentledger_api.models import BIGINT_MAX, INT32_MAX, INT32_MIN
from agentledger_api.settings import ApiSettings
from agentledger_api.stats import StatsCache


def get_pool(request: Request) -> AsyncConnectionPool:
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def get_feed(request: Request) -> AuditFeed:
    feed: AuditFeed = request.app.state.feed
    return feed


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_queue_stats(request: Request) -> StatsCache:
    stats: StatsCache = request.app.state.queue_stats
    return stats


Pool = Annotated[AsyncConnectionPool, Depends(get_pool)]
Settings = Annotated[ApiSettings, Depends(get_settings)]
Feed = Annotated[AuditFeed, Depends(get_feed)]
AppMetrics = Annotated[Metrics, Depends(get_metrics)]
CachedStats = Annotated[StatsCache, Depends(get_queue_stats)]

# The caller, if its key's role has the permission (auth.PERMISSIONS); 403 otherwise.
Reader = Annotated[Caller, Depends(allow("read"))]
Submitter = Annotated[Caller, Depends(allow("submit"))]
WorkerKey = Annotated[Caller, Depends(allow("work"))]
Reviewer = Annotated[Caller, Depends(allow("review"))]
ReviewQueueReader = Annotated[Caller, Depends(allow("review_queue"))]

EventIdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="Event id")]
# A page size: the database refuses one out of its range (AL019); this keeps it an integer it can take.
PageLimit = Annotated[int, Query(ge=INT32_MIN, le=INT32_MAX, description="Rows per page, from 1 to 1000.")]
