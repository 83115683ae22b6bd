"""`agentledger keys ...`: create, revoke and list the API keys of the HTTP API.

The keys live in the database, and the rules about them are its own (api.create_api_key,
api.revoke_api_key, api.list_api_keys); these commands call those functions. Each key belongs to a
principal (`agentledger principals add`), who acts with it, and may be limited to event types and
customers. They are for administrators: connect as a superuser or a member of agentledger_owner.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from agentledger import database
from agentledger.cli.common import call, print_table
from agentledger.database import one
from agentledger.errors import AgentledgerError

ROLES = ("submitter", "worker", "reviewer", "auditor")
# Refusals the administrators' functions raise on purpose: their message is the whole answer.
REFUSALS = {"AL008", "AL015", "AL016", "AL020", "23514"}
TIME = "%Y-%m-%d %H:%M:%S %z"


def admin_db_url() -> argparse.ArgumentParser:
    """The --db-url option of the administrators' commands, for a group and each of its actions
    (SUPPRESS, as in `agentledger db`: the option may come before or after the action)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"database to work on, as an administrator (default: ${database.ENV_VAR})",
    )
    return common


def register(subparsers: argparse._SubParsersAction) -> None:
    common = admin_db_url()
    group = subparsers.add_parser(
        "keys", parents=[common], help="create, revoke and list API keys", description=__doc__.split("\n\n")[0]
    )
    group.set_defaults(command_parser=group)
    actions = group.add_subparsers(dest="keys_action", metavar="ACTION", required=True)

    p = actions.add_parser("create", parents=[common], help="create a key and print it (shown only this once)")
    p.add_argument(
        "--principal",
        required=True,
        metavar="NAME",
        help="the principal who acts with the key (see `agentledger principals add`)",
    )
    p.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    p.add_argument(
        "--name",
        metavar="KEY",
        help="the key's name, recorded with every change made with it; never reused (default: the principal's)",
    )
    p.add_argument(
        "--types",
        type=_type_list,
        metavar="T1,T2",
        help="limit the key to these registered event types (default: every type)",
    )
    p.add_argument(
        "--customers",
        metavar="PATTERN",
        help="limit the key to customer ids LIKE this pattern, e.g. 'retail-%%' (default: every customer)",
    )
    p.set_defaults(handler=_create, command_parser=p)

    p = actions.add_parser("revoke", parents=[common], help="revoke a key for good")
    p.add_argument("--name", required=True, help="the key to revoke")
    p.add_argument("--reason", required=True, help="why; kept with the key")
    p.set_defaults(handler=_revoke, command_parser=p)

    p = actions.add_parser("list", parents=[common], help="list every key, valid and revoked (no secrets)")
    p.set_defaults(handler=_list, command_parser=p)


def _type_list(text: str) -> list[str]:
    """--types a,b: the names, each stripped; whether they are registered is the database's to say."""
    return [name.strip() for name in text.split(",")]


@contextmanager
def admin_connected(args: argparse.Namespace, application_name: str) -> Iterator[psycopg.Connection[DictRow]]:
    """An autocommit connection to the database given; the database's refusals become errors
    carrying its message (exit 1), anything else stays a database error."""
    conninfo = database.resolve_url(getattr(args, "db_url", None))
    try:
        conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row, application_name=application_name)
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
    hint = f"\nhint: {diag.message_hint}" if diag.message_hint else ""
    if exc.sqlstate in REFUSALS:
        return (diag.message_primary or "") + hint
    if exc.sqlstate == "42501":
        if diag.message_hint:  # a refusal of the function itself (a reviewer key for an agent, say)
            return (diag.message_primary or "") + hint
        return (
            f"{diag.message_primary}: managing principals and API keys needs an administrator "
            "(a superuser or a member of agentledger_owner)"
        )
    return None


def _create(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    query, values = call(
        "create_api_key",
        p_principal=("text", args.principal),
        p_role=("text", args.role),
        p_name=("text", args.name),
        p_event_types=("text[]", args.types),
        p_customers=("text", args.customers),
    )
    with admin_connected(args, "agentledger keys") as conn:
        key = one(conn.execute(sql.SQL("SELECT {} AS key").format(query), values))["key"]
        # What the database made of it (the name defaults to the principal's), read back by the key.
        made = one(conn.execute("SELECT * FROM api.authenticate_api_key(%s)", [key]))
    # The key alone on stdout, so `KEY=$(agentledger keys create ...)` captures it; the note on stderr.
    print(key, flush=True)
    print(
        f"agentledger: created API key {made['name']} ({made['role']}) for {made['principal']}{_scope(made)}. "
        "It will not be shown again: only its sha256 is kept.",
        file=sys.stderr,
    )
    return 0


def _scope(key: DictRow) -> str:
    """', limited to ...' for a scoped key; '' for one that may work on every type and customer."""
    limits = []
    if key["event_types"] is not None:
        limits.append("event types " + ", ".join(key["event_types"]))
    if key["customers"] is not None:
        limits.append(f"customers LIKE {key['customers']!r}")
    return ", limited to " + " and ".join(limits) if limits else ""


def _revoke(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with admin_connected(args, "agentledger keys") as conn:
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
    with admin_connected(args, "agentledger keys") as conn:
        rows = conn.execute("SELECT * FROM api.list_api_keys()").fetchall()
    if not rows:
        print("agentledger: no API keys; create one with `agentledger keys create`", file=sys.stderr)
        return 0
    print_table(
        ("NAME", "PRINCIPAL", "ROLE", "TYPES", "CUSTOMERS", "PREFIX", "CREATED", "CREATED BY", "REVOKED", "REASON"),
        [
            (
                r["name"],
                r["principal"],
                r["role"],
                ",".join(r["event_types"]) if r["event_types"] is not None else "all",
                r["customers"] if r["customers"] is not None else "all",
                r["lookup_prefix"],
                r["created_at"],
                r["created_by"],
                r["revoked_at"],
                r["revoke_reason"],
            )
            for r in rows
        ],
    )
    return 0
