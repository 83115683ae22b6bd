"""`agentledger keys ...`: create, revoke and list the API keys of the HTTP API.

The keys live in the database, and the rules about them are its own (api.create_api_key,
api.revoke_api_key, api.list_api_keys); these commands call those functions. They are for
administrators: connect as a superuser or a member of agentledger_owner.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg.rows import DictRow, dict_row

from agentledger import database
from agentledger.database import one
from agentledger.errors import AgentledgerError

ROLES = ("submitter", "worker", "reviewer", "auditor")
# Refusals the key functions raise on purpose: their message is the whole answer.
REFUSALS = {"AL008", "AL015", "AL016", "AL020", "23514"}
TIME = "%Y-%m-%d %H:%M:%S %z"


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS, as in `agentledger db`: the option may come before or after the action.
    common.add_argument(
        "--db-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"database to work on, as an administrator (default: ${database.ENV_VAR})",
    )

    group = subparsers.add_parser(
        "keys", parents=[common], help="create, revoke and list API keys", description=__doc__.split("\n\n")[0]
    )
    group.set_defaults(command_parser=group)
    actions = group.add_subparsers(dest="keys_action", metavar="ACTION", required=True)

    p = actions.add_parser("create", parents=[common], help="create a key and print it (shown only this once)")
    p.add_argument("--name", required=True, help="the key's name: the actor of everything done with it; never reused")
    p.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    p.set_defaults(handler=_create, command_parser=p)

    p = actions.add_parser("revoke", parents=[common], help="revoke a key for good")
    p.add_argument("--name", required=True, help="the key to revoke")
    p.add_argument("--reason", required=True, help="why; kept with the key")
    p.set_defaults(handler=_revoke, command_parser=p)

    p = actions.add_parser("list", parents=[common], help="list every key, valid and revoked (no secrets)")
    p.set_defaults(handler=_list, command_parser=p)


@contextmanager
def _connected(args: argparse.Namespace) -> Iterator[psycopg.Connection[DictRow]]:
    """An autocommit connection to the database given; the database's refusals become errors
    carrying its message (exit 1), anything else stays a database error."""
    conninfo = database.resolve_url(getattr(args, "db_url", None))
    try:
        conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row, application_name="agentledger keys")
    except psycopg.Error as exc:
        raise AgentledgerError(f"cannot connect to {database.display(conninfo)}: {exc}".rstrip()) from None
    try:
        yield conn
    except psycopg.Error as exc:
        message = _refusal(exc)
        if message is None:
            raise
        raise AgentledgerError(message) from None
    finally:
        conn.close()


def _refusal(exc: psycopg.Error) -> str | None:
    diag = exc.diag
    if exc.sqlstate in REFUSALS:
        return (diag.message_primary or "") + (f"\nhint: {diag.message_hint}" if diag.message_hint else "")
    if exc.sqlstate == "42501":
        return (
            f"{diag.message_primary}: managing API keys needs an administrator "
            "(a superuser or a member of agentledger_owner)"
        )
    return None


def _create(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with _connected(args) as conn:
        key = one(conn.execute("SELECT api.create_api_key(%s, %s) AS key", (args.name, args.role)))["key"]
    # The key alone on stdout, so `KEY=$(agentledger keys create ...)` captures it; the note on stderr.
    print(key, flush=True)
    print(
        f"agentledger: created API key {args.name} ({args.role}). It will not be shown again: only its sha256 is kept.",
        file=sys.stderr,
    )
    return 0


def _revoke(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with _connected(args) as conn:
        # revoked_at = now() (the statement's transaction time) tells this call's revocation from an earlier one.
        row = one(
            conn.execute(
                "SELECT k.*, k.revoked_at = now() AS now_revoked FROM api.revoke_api_key(%s, %s) k",
                (args.name, args.reason),
            )
        )
    when = f"{row['revoked_at']:{TIME}}"
    if row["now_revoked"]:
        print(f"revoked API key {row['name']} ({row['role']}) at {when}")
    else:
        print(
            f"API key {row['name']} was already revoked at {when} by {row['revoked_by']} "
            f"({row['revoke_reason']}); nothing changed"
        )
    return 0


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with _connected(args) as conn:
        rows = conn.execute("SELECT * FROM api.list_api_keys()").fetchall()
    if not rows:
        print("agentledger: no API keys; create one with `agentledger keys create`", file=sys.stderr)
        return 0
    table = [("NAME", "ROLE", "PREFIX", "CREATED", "CREATED BY", "REVOKED", "REASON")]
    table += [
        (
            r["name"],
            r["role"],
            r["lookup_prefix"],
            _time(r["created_at"]),
            r["created_by"] or "",
            _time(r["revoked_at"]),
            r["revoke_reason"] or "",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip())
    return 0


def _time(value: datetime | None) -> str:
    return f"{value:{TIME}}" if value is not None else "-"
