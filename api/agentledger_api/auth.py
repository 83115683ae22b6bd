"""API keys: who is calling, whether their role may call this endpoint, and a per-key budget.

A key is sent as `Authorization: Bearer <key>` (or `X-API-Key: <key>`). The database checks it
(api.authenticate_api_key, against a stored sha256) and names the key's principal, role and scope;
that answer is cached for `key_cache_seconds`, so the role check here costs no round trip on every
request. The cache only spares the lookup: every database call made for the request passes the
key itself (`p_key`), and the database checks it again and derives who acts from it, so a revoked
key, or a key of a deactivated principal, is refused by the next call that reaches the database.
The API never names the actor.

The raw key lives only in the request's Caller, for the calls made on its behalf: it is never in a
repr, a log line or an error, and the caches hold only its sha256.

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
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from agentledger_api.database import fetch_one
from agentledger_api.problems import Problem

# What each key role may do. Routes name a permission; the mapping is the one place to read. It
# only spares a round trip: each database function checks the key's role again, and its scope.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"submitter", "worker", "reviewer", "auditor"}),
    "submit": frozenset({"submitter", "worker"}),
    "work": frozenset({"worker"}),  # claims, reports, and the generic status change
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
class KeyInfo:
    """What the database said of a valid key (api.authenticate_api_key): never the key itself."""

    name: str  # the key's name, recorded as api_key in the audit trail
    role: str
    principal: str  # who acts with it: the actor of everything done with the key
    event_types: tuple[str, ...] | None = None  # None: every type
    customers: str | None = None  # a LIKE pattern of customer ids; None: every customer

    @property
    def scoped(self) -> bool:
        return self.event_types is not None or self.customers is not None


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request: what the key is, and the key itself, which the
    routes pass to the database as p_key. The key is left out of the repr and of comparisons."""

    info: KeyInfo
    key: str = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def role(self) -> str:
        return self.info.role

    @property
    def principal(self) -> str:
        return self.info.principal


class KeyCache:
    """The database's answers for recently seen valid keys (by sha256, never the key itself)."""

    def __init__(self, ttl: float, size: int | None = None) -> None:
        self.ttl, self.size = ttl, size or CACHE_SIZE
        self.entries: OrderedDict[bytes, tuple[float, KeyInfo]] = OrderedDict()

    def get(self, digest: bytes) -> KeyInfo | None:
        hit = self.entries.get(digest)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, digest: bytes, info: KeyInfo) -> None:
        self.entries[digest] = (time.monotonic() + self.ttl, info)
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


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


async def authenticate(request: Request) -> Caller:
    key = presented_key(request) or ""  # none sent: refused below, before any lookup
    state = request.app.state
    digest = key_digest(key)
    info = state.key_cache.get(digest) if key else None
    if info is None:
        info = await _authenticate_uncached(request, key, digest)
    wait = state.budget.take(info.name)
    if wait > 0:
        raise Problem(
            429,
            "Too many requests",
            f"Key {info.name} is over its request budget.",
            code="rate_limited",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    caller = Caller(info, key)
    request.state.caller = caller
    return caller


async def _authenticate_uncached(request: Request, key: str, digest: bytes) -> KeyInfo:
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
    if not key:
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
        row = await fetch_one(
            state.pool,
            "SELECT name, role, principal, event_types, customers FROM api.authenticate_api_key(%(key)s)",
            {"key": key},
        )
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
    types = row["event_types"]
    info = KeyInfo(
        row["name"], row["role"], row["principal"], tuple(types) if types is not None else None, row["customers"]
    )
    state.key_cache.put(digest, info)
    state.auth_failures.give_back(address)
    return info


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
