"""API keys: who is calling, whether their role may call this endpoint, and a per-key budget.

A key is sent as `Authorization: Bearer <key>` (or `X-API-Key: <key>`). The database checks it
(api.authenticate_api_key, against a stored sha256); the answer is cached for
`key_cache_seconds`, so a revoked key stops working within that time without a database round
trip on every request. The key's name is the actor of everything done with it.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from agentledger_api.database import fetch_one
from agentledger_api.problems import Problem

# What each key role may do. Routes name a permission; the mapping is the one place to read.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"submitter", "worker", "reviewer", "auditor"}),
    "submit": frozenset({"submitter", "worker"}),
    "transition": frozenset({"worker", "reviewer"}),
    "work": frozenset({"worker"}),
    "operate": frozenset({"reviewer"}),
    "review": frozenset({"reviewer"}),
    "review_queue": frozenset({"reviewer", "auditor"}),
    "audit": frozenset({"auditor", "reviewer"}),
}
CACHE_SIZE = 10_000
KEY_FORMAT = re.compile(r"al_[0-9a-f]{64}")  # what api.create_api_key hands out


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


class KeyCache:
    """Answers of the database for recently seen keys (by sha256, never the key itself)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: OrderedDict[bytes, tuple[float, Caller | None]] = OrderedDict()

    def get(self, digest: bytes) -> tuple[bool, Caller | None]:
        hit = self.entries.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, digest: bytes, caller: Caller | None) -> None:
        self.entries[digest] = (time.monotonic() + self.ttl, caller)
        self.entries.move_to_end(digest)
        while len(self.entries) > CACHE_SIZE:
            self.entries.popitem(last=False)


class Budget:
    """A token bucket per key: requests_per_minute, refilled continuously, bursts up to a minute's worth."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, name: str) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self.buckets.get(name, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1:
            self.buckets[name] = (tokens, now)
            return (1 - tokens) / self.rate
        self.buckets[name] = (tokens - 1, now)
        return 0.0


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


async def authenticate(request: Request) -> Caller:
    key = presented_key(request)
    if key is None:
        raise Problem(
            401,
            "API key required",
            "Send the key as 'Authorization: Bearer <key>'.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    state = request.app.state
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    known, caller = state.key_cache.get(digest)
    if not known:
        row = None
        if KEY_FORMAT.fullmatch(key):  # anything else is no key of ours: no database round trip for it
            row = await fetch_one(state.pool, "SELECT name, role FROM api.authenticate_api_key(%(key)s)", {"key": key})
        caller = Caller(row["name"], row["role"]) if row else None
        state.key_cache.put(digest, caller)
    if caller is None:
        raise Problem(
            401,
            "Invalid API key",
            "The key is unknown or revoked.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    wait = state.budget.take(caller.name)
    if wait > 0:
        raise Problem(
            429,
            "Too many requests",
            f"Key {caller.name} is over its request budget.",
            code="rate_limited",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    request.state.caller = caller
    return caller


def allow(permission: str) -> Callable[[Caller], Awaitable[Caller]]:
    """Dependency: the authenticated caller, if its role has `permission` (403 otherwise)."""
    roles = PERMISSIONS[permission]

    async def check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in roles:
            raise Problem(
                403,
                "Not allowed",
                f"A {caller.role} key may not do this; it needs one of: {', '.join(sorted(roles))}.",
                code="forbidden",
            )
        return caller

    return check
