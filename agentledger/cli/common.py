"""What several command modules share: the --db-url option, a connection that turns the
database's refusals into messages, calls of `api` functions with named parameters, and the table
printer."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg.types.string import TextLoader

from agentledger import database
from agentledger.errors import AgentledgerError

TIME = "%Y-%m-%d %H:%M:%S %z"
# SQLSTATE classes whose message (and hint) is the whole answer: agentledger's own refusals, values
# the database cannot take (class 22: unreadable JSON, \u0000, a number out of range), and a login
# that acts for no principal (28000).
REFUSED_CLASSES = ("AL", "22", "28")
NOT_DEPLOYED = {"3F000", "42883"}  # schema api, or one of its functions, is missing
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def db_url_parent() -> argparse.ArgumentParser:
    """The --db-url option, for a group and each of its actions (SUPPRESS, as in `agentledger db`:
    it may come before or after the action without one level's default overwriting the other)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db-url", default=argparse.SUPPRESS, metavar="URL", help=f"database to work on (default: ${database.ENV_VAR})"
    )
    return common


@contextmanager
def connected(args: argparse.Namespace, application_name: str) -> Iterator[psycopg.Connection[DictRow]]:
    """An autocommit connection to the database given, with JSON columns read as their text (shown
    as the database wrote them, never re-parsed). The database's refusals become errors carrying
    its message and hint (exit 1); anything else stays a database error."""
    conninfo = database.resolve_url(getattr(args, "db_url", None))
    try:
        conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row, application_name=application_name)
    except psycopg.Error as exc:
        raise AgentledgerError(f"cannot connect to {database.display(conninfo)}: {exc}".rstrip()) from None
    for json_type in ("json", "jsonb"):
        conn.adapters.register_loader(json_type, TextLoader)
    try:
        yield conn
    except psycopg.Error as exc:
        message = refusal(exc)
        if message is None:
            raise
        raise AgentledgerError(message) from None
    finally:
        conn.close()


def refusal(exc: psycopg.Error) -> str | None:
    """The message (and hint) of a refusal by the database, or None for other errors."""
    diag, state = exc.diag, exc.sqlstate or ""
    if state.startswith(REFUSED_CLASSES):
        # agentledger's refusals explain themselves in their hint; PostgreSQL's own, in their detail.
        extra = (
            f"hint: {diag.message_hint}"
            if diag.message_hint
            else f"detail: {diag.message_detail}"
            if diag.message_detail
            else None
        )
    elif state == "42501" and diag.message_hint:
        extra = f"hint: {diag.message_hint}"  # the function's own refusal (a key's scope, say)
    elif state == "42501":
        extra = (
            "hint: connect as a login role that may call it: see the roles column of "
            '"Functions (schema api)" in docs/lifecycle.md'
        )
    elif state in NOT_DEPLOYED:
        extra = "hint: is agentledger deployed in this database? `agentledger db status` shows what is"
    else:
        return None
    return (diag.message_primary or "") + (f"\n{extra}" if extra else "")


def call(function: str, **params: tuple[str, object]) -> tuple[sql.Composed, list[object]]:
    """`api.function(p_x => %s::type, ...)` with the parameters given as (type, value); a None value
    is left out, so the function's own default applies."""
    given = {name: typed for name, typed in params.items() if typed[1] is not None}
    arguments = sql.SQL(", ").join(
        sql.SQL("{} => {}::{}").format(sql.Identifier(name), sql.Placeholder(), sql.SQL(sqltype))
        for name, (sqltype, _) in given.items()
    )
    return (sql.SQL("api.{}({})").format(sql.Identifier(function), arguments), [value for _, value in given.values()])


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns padded to their widest cell, two spaces apart, as `agentledger keys list` prints."""
    lines = [list(header)] + [[cell(value) for value in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(value.ljust(width) for value, width in zip(line, widths, strict=False)).rstrip())


def cell(value: object) -> str:
    """A value on one line: '-' for none, times as TIME, control characters escaped."""
    if value is None:
        return "-"
    text = f"{value:{TIME}}" if isinstance(value, datetime) else str(value)
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high}")
        return value

    return parse
