"""API keys: who is calling, whether their role may call this endpoint, and a per-key budget.

A key is sent as `Authorization: Bearer <key>` (or `X-API-Key: <key>`). The database checks it
(api.authenticate_api_key, against a stored sha256); the answer is cached for
`key_cache_seconds`, so a revoked key stops working within that time without a database round
trip on every request. The key's name is the actor of everything done with it.

Failures cost a client address its own budget (`auth_failures_per_minute`): once spent, anything
but a cached valid key gets 429 without a database round trip. Unknown keys are remembered apart
from the valid ones (UnknownKeys), so a flood of random keys never pushes a valid key out of the
cache, and a bad key sent again costs no lookup.
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
CACHE_SIZE = 10_000  # valid keys
UNKNOWN_CACHE_SIZE = 10_000  # unknown or revoked keys, kept apart
ADDRESSES = 10_000  # client addresses whose failures are counted; the least recently failed are forgotten
KEY_FORMAT = re.compile(r"al_[0-9a-f]{64}")  # what api.create_api_key hands out


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


class KeyCache:
    """The database's answers for recently seen valid keys (by sha256, never the key itself)."""

    def __init__(self, ttl: float, size: int | None = None) -> None:
        self.ttl, self.size = ttl, size or CACHE_SIZE
        self.entries: OrderedDict[bytes, tuple[float, Caller]] = OrderedDict()

    def get(self, digest: bytes) -> Caller | None:
        hit = self.entries.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, digest: bytes, caller: Caller) -> None:
        self.entries[digest] = (time.monotonic() + self.ttl, caller)
        self.entries.move_to_end(digest)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class UnknownKeys:
    """Hashes of well-formed keys the database did not know, for `ttl` seconds: asked again, they
    cost no round trip. Apart from KeyCache, so misses never evict a valid key."""

    def __init__(self, ttl: float, size: int | None = None) -> None:
        self.ttl, self.size = ttl, size or UNKNOWN_CACHE_SIZE
        self.entries: OrderedDict[bytes, float] = OrderedDict()

    def __contains__(self, digest: bytes) -> bool:
        expires = self.entries.get(digest)
        return expires is not None and expires >= time.monotonic()

    def add(self, digest: bytes) -> None:
        self.entries[digest] = time.monotonic() + self.ttl
        self.entries.move_to_end(digest)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class FailureBudget:
    """A small token bucket per client address for failed authentications: `per_minute`, refilled
    continuously, bursts up to a minute's worth. A token is taken before a key is looked up and given
    back when the key is valid, so concurrent guesses cannot outrun it."""

    def __init__(self, per_minute: int, addresses: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.addresses = addresses or ADDRESSES
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, address: str) -> float:
        """0 when this address may try (a token taken), else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self.buckets.get(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._set(address, tokens, now)
            return (1 - tokens) / self.rate
        self._set(address, tokens - 1, now)
        return 0.0

    def give_back(self, address: str) -> None:
        if self.rate > 0 and address in self.buckets:
            tokens, last = self.buckets[address]
            self.buckets[address] = (min(self.capacity, tokens + 1), last)

    def _set(self, address: str, tokens: float, now: float) -> None:
        self.buckets[address] = (tokens, now)
        self.buckets.move_to_end(address)
        while len(self.buckets) > self.addresses:
            self.buckets.popitem(last=False)  # forgetting an address only forgives it


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
    state = request.app.state
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest() if key is not None else b""
    caller = state.key_cache.get(digest) if key is not None else None
    if caller is None:
        caller = await _authenticate_uncached(request, key, digest)
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


async def _authenticate_uncached(request: Request, key: str | None, digest: bytes) -> Caller:
    """What may cost a database round trip or fail: first the client address's failure budget."""
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    wait = state.auth_failures.take(address)
    if wait > 0:
        raise Problem(
            429,
            "Too many failed authentications",
            "This address sent too many missing, unknown or revoked keys; wait before trying again.",
            code="rate_limited",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    if key is None:
        raise Problem(
            401,
            "API key required",
            "Send the key as 'Authorization: Bearer <key>'.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    row = None
    # Anything not shaped like our keys, or known to be unknown, costs no database round trip.
    if KEY_FORMAT.fullmatch(key) and digest not in state.unknown_keys:
        row = await fetch_one(state.pool, "SELECT name, role FROM api.authenticate_api_key(%(key)s)", {"key": key})
        if row is None:
            state.unknown_keys.add(digest)
    if row is None:
        raise Problem(
            401,
            "Invalid API key",
            "The key is unknown or revoked.",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = Caller(row["name"], row["role"])
    state.key_cache.put(digest, caller)
    state.auth_failures.give_back(address)
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
