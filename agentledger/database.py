"""Database URLs: accepted forms, display without secrets, password verifiers, and connections."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from typing import TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agentledger.errors import AgentledgerError, UsageError

ENV_VAR = "DATABASE_URL"
Row = TypeVar("Row")


def resolve_url(explicit: str | None) -> str:
    url = explicit or os.environ.get(ENV_VAR)
    if not url:
        raise UsageError(f"no database given: pass --db-url or set {ENV_VAR}")
    return to_conninfo(url)


def to_conninfo(url: str) -> str:
    """libpq accepts postgresql:// URLs and key=value strings; also take the
    db:pg: targets sqitch uses, so one value can serve both tools."""
    if url.startswith("db:pg:"):
        rest = url[len("db:pg:") :]
        return "postgresql:" + (rest if rest.startswith("//") else "///" + rest)
    return url


def display(conninfo: str) -> str:
    """The connection target with any password removed, for messages and logs.

    Parsed by libpq's rules (a URL or key=value string alike), never matched by pattern: a password
    holding '@', '/', ':' or a quote cannot leave a part of itself behind."""
    if "://" in conninfo:
        # In a URL, everything up to the last '@' before the query is the user and the password,
        # even where libpq would read it otherwise (a password with a bare '@' or '/' is a malformed
        # URL, and what libpq makes of it may hold a piece of the password): keep the user alone.
        scheme, _, rest = conninfo.partition("://")
        head, query_mark, query = rest.partition("?")
        if "@" in head:
            userinfo, _, hosts = head.rpartition("@")
            user = userinfo.partition(":")[0]
            head = f"{user}@{hosts}" if user else hosts
        conninfo = f"{scheme}://{head}{query_mark}{query}"
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unparsable connection string)"
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def scram_sha256_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802, RFC 7677), computed here so
    that `ALTER ROLE ... PASSWORD '<verifier>'` never sends the password itself to the server (or to
    its statement log): SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64.

    PostgreSQL normalizes a password with SASLprep first; for the ASCII passwords made here that
    changes nothing, so only ASCII is accepted."""
    if not password.isascii():
        raise ValueError("only ASCII passwords: PostgreSQL would SASLprep anything else first")
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def connect(conninfo: str, registry: str) -> psycopg.Connection:
    """A session for the registry, set up as sqitch's own: quiet, registry first
    on the search path, and autocommit (transactions are opened explicitly)."""
    try:
        conn = psycopg.connect(conninfo, autocommit=True, application_name="agentledger db")
    except psycopg.Error as exc:
        raise AgentledgerError(f"cannot connect to {display(conninfo)}: {exc}".rstrip()) from None
    conn.execute("SET client_min_messages = warning")
    conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(registry)))
    return conn


def one(cursor: psycopg.Cursor[Row]) -> Row:
    """The row of a statement that always answers one (a function returning one value or row)."""
    row = cursor.fetchone()
    if row is None:
        raise AgentledgerError("the database answered no row where it always answers one")
    return row
