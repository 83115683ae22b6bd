"""Settings of the HTTP API, from the environment (or a `.env` file in the working directory).

Every setting has an environment variable and a default; docs/http-api.md lists them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import ClassVar


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments and blank lines are skipped, quotes around a value removed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class ApiSettings:
    database_url: str = field(repr=False)  # it may hold a password
    pool_min_size: int = 2
    pool_max_size: int = 10
    pool_timeout_seconds: float = 5.0  # waiting for a free connection, then 503
    statement_timeout_ms: int = 5000
    max_body_bytes: int = 2 * 1024 * 1024
    max_header_bytes: int = 16 * 1024  # names and values of all headers together; 431 beyond
    max_headers: int = 100  # 431 beyond
    key_cache_seconds: float = 10.0  # a revoked key stops working within this time
    requests_per_minute_per_key: int = 6000  # 0 turns the budget off
    auth_failures_per_minute: int = 120  # per client address: missing, unknown or revoked keys; 0 = no limit
    stream_replay_rows: int = 10_000  # Last-Event-ID at most this far back, except for auditor keys
    stats_cache_seconds: float = 2.0  # /stats and /metrics answer from api.queue_stats() at most this old
    log_level: str = "info"
    docs: bool = True  # /docs, /redoc and /openapi.json; turn off in production

    ENV: ClassVar[dict[str, str]] = {
        "database_url": "DATABASE_URL",
        "pool_min_size": "AGENTLEDGER_POOL_MIN_SIZE",
        "pool_max_size": "AGENTLEDGER_POOL_MAX_SIZE",
        "pool_timeout_seconds": "AGENTLEDGER_POOL_TIMEOUT_SECONDS",
        "statement_timeout_ms": "AGENTLEDGER_STATEMENT_TIMEOUT_MS",
        "max_body_bytes": "AGENTLEDGER_MAX_BODY_BYTES",
        "max_header_bytes": "AGENTLEDGER_MAX_HEADER_BYTES",
        "max_headers": "AGENTLEDGER_MAX_HEADERS",
        "key_cache_seconds": "AGENTLEDGER_KEY_CACHE_SECONDS",
        "requests_per_minute_per_key": "AGENTLEDGER_REQUESTS_PER_MINUTE_PER_KEY",
        "auth_failures_per_minute": "AGENTLEDGER_AUTH_FAILURES_PER_MINUTE",
        "stream_replay_rows": "AGENTLEDGER_STREAM_REPLAY_ROWS",
        "stats_cache_seconds": "AGENTLEDGER_STATS_CACHE_SECONDS",
        "log_level": "AGENTLEDGER_LOG_LEVEL",
        "docs": "AGENTLEDGER_DOCS",
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> ApiSettings:
        """Environment variables win over the `.env` file."""
        source = {**(read_dotenv(dotenv) if dotenv else {}), **(environ if environ is not None else os.environ)}
        values: dict[str, object] = {}
        for setting in fields(cls):
            name = cls.ENV[setting.name]
            if name not in source or source[name] == "":
                if setting.name == "database_url":
                    raise SettingsError("DATABASE_URL is not set: the API needs the database it serves")
                continue
            values[setting.name] = _parse(name, source[name], setting.type)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if not 1 <= self.pool_min_size <= self.pool_max_size:
            raise SettingsError("need 1 <= AGENTLEDGER_POOL_MIN_SIZE <= AGENTLEDGER_POOL_MAX_SIZE")
        if self.max_body_bytes < 1024:
            raise SettingsError("AGENTLEDGER_MAX_BODY_BYTES must be >= 1024")
        if self.max_header_bytes < 1024 or self.max_headers < 8:
            raise SettingsError("AGENTLEDGER_MAX_HEADER_BYTES must be >= 1024 and AGENTLEDGER_MAX_HEADERS >= 8")
        if not math.isfinite(self.stats_cache_seconds) or self.stats_cache_seconds < 0:
            raise SettingsError("AGENTLEDGER_STATS_CACHE_SECONDS must be a finite number >= 0")
        if not all(math.isfinite(v) for v in (self.pool_timeout_seconds, self.key_cache_seconds)):
            raise SettingsError(
                "AGENTLEDGER_POOL_TIMEOUT_SECONDS and AGENTLEDGER_KEY_CACHE_SECONDS must be finite numbers"
            )
        if self.pool_timeout_seconds <= 0 or self.key_cache_seconds < 0:
            raise SettingsError(
                "AGENTLEDGER_POOL_TIMEOUT_SECONDS must be positive and AGENTLEDGER_KEY_CACHE_SECONDS >= 0"
            )
        if not 1 <= self.statement_timeout_ms <= 3_600_000:
            raise SettingsError("AGENTLEDGER_STATEMENT_TIMEOUT_MS must be between 1 and 3600000 (one hour)")
        if self.requests_per_minute_per_key < 0:
            raise SettingsError("AGENTLEDGER_REQUESTS_PER_MINUTE_PER_KEY must be >= 0")
        if self.stream_replay_rows < 0:
            raise SettingsError("AGENTLEDGER_STREAM_REPLAY_ROWS must be >= 0")
        if self.auth_failures_per_minute < 0:
            raise SettingsError("AGENTLEDGER_AUTH_FAILURES_PER_MINUTE must be >= 0")


SWITCH = {"on": True, "true": True, "1": True, "yes": True, "off": False, "false": False, "0": False, "no": False}


def _parse(name: str, raw: str, kind: object) -> object:
    if kind in (bool, "bool"):
        if raw.strip().lower() not in SWITCH:
            raise SettingsError(f"{name}={raw!r} is not on or off")
        return SWITCH[raw.strip().lower()]
    try:
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    return raw
