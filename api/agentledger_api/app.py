"""The FastAPI application: settings, the pool's lifetime, error handlers, middleware, routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import psycopg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentledger_api import openapi, problems
from agentledger_api.auth import Budget, FailureBudget, KeyCache, UnknownKeys
from agentledger_api.database import make_pool
from agentledger_api.feed import AuditFeed
from agentledger_api.metrics import Metrics
from agentledger_api.middleware import RequestContext
from agentledger_api.routes import ROUTERS
from agentledger_api.settings import ApiSettings
from agentledger_api.stats import StatsCache


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    log = logging.getLogger("agentledger.api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # open(wait=False): the API starts even while the database is away, answers 503 meanwhile,
        # and recovers by itself (the pool keeps reconnecting in the background).
        await app.state.pool.open(wait=False)
        try:
            yield
        finally:
            await app.state.feed.close()
            await app.state.pool.close()

    app = FastAPI(
        title="agentledger",
        version=version("agentledger"),
        description="Events for AI agents, with a lifecycle and an audit trail enforced by PostgreSQL.",
        lifespan=lifespan,
        # AGENTLEDGER_DOCS=off: no browsable docs and no schema to read, each path a plain 404.
        openapi_url="/openapi.json" if settings.docs else None,
        docs_url="/docs" if settings.docs else None,
        redoc_url="/redoc" if settings.docs else None,
    )
    app.state.settings = settings
    app.state.log = log
    app.state.pool = make_pool(settings)
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.state.unknown_keys = UnknownKeys(settings.key_cache_seconds)
    app.state.auth_failures = FailureBudget(settings.auth_failures_per_minute)
    app.state.budget = Budget(settings.requests_per_minute_per_key)
    app.state.metrics = Metrics()
    app.state.queue_stats = StatsCache(app.state.pool, settings.stats_cache_seconds)
    app.state.feed = AuditFeed(app.state.pool, settings.database_url)

    # One handler renders every error as problem+json (problems.problem_for picks the problem).
    for error in (problems.Problem, psycopg.Error, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(error, problems.error_response)
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app)
    app.add_middleware(
        RequestContext,
        max_body_bytes=settings.max_body_bytes,
        metrics=app.state.metrics,
        log=log,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )
    return app
