"""Database URLs: accepted forms, display without secrets, and connections."""

from __future__ import annotations

import os
import re
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
    """The connection target with any password removed, for messages."""
    if "://" in conninfo:
        shown = re.sub(r"^([^:/]+://[^:/@]*):[^@/]*@", r"\1@", conninfo)
        return re.sub(r"([?&])password=[^&]*&?", r"\1", shown).rstrip("?&")
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unparsable connection string)"
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


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
