"""`agentledger principals ...`: add, list and deactivate the principals who act in agentledger.

A principal is a person (human), an AI agent (agent) or a program acting for the bank (service).
The database names one as the actor of every change: the principal of the API key used, or the one
a database login is mapped to (--login) when that login calls the api functions itself, as workers
do. These commands call api.create_principal, api.list_principals and api.deactivate_principal.
They are for administrators: connect as a superuser or a member of agentledger_owner.
"""

from __future__ import annotations

import argparse
import sys

from psycopg import sql

from agentledger.cli.common import call, cell, print_table
from agentledger.cli.keys import TIME, admin_connected, admin_db_url
from agentledger.database import one

KINDS = ("human", "agent", "service")


def register(subparsers: argparse._SubParsersAction) -> None:
    common = admin_db_url()
    group = subparsers.add_parser(
        "principals",
        parents=[common],
        help="add, list and deactivate principals (who acts)",
        description=__doc__.split("\n\n")[0],
    )
    group.set_defaults(command_parser=group)
    actions = group.add_subparsers(dest="principals_action", metavar="ACTION", required=True)

    p = actions.add_parser("add", parents=[common], help="add a principal")
    p.add_argument("name", metavar="NAME", help="its name: the actor of everything it does; never reused")
    p.add_argument(
        "--kind", required=True, choices=KINDS, help="a person, an AI agent or a service (only a human may review)"
    )
    p.add_argument(
        "--login", help="a database login (an existing role) that acts for it when calling the api functions itself"
    )
    p.set_defaults(handler=_add, command_parser=p)

    p = actions.add_parser("list", parents=[common], help="list every principal, active or not")
    p.set_defaults(handler=_list, command_parser=p)

    p = actions.add_parser(
        "deactivate", parents=[common], help="deactivate a principal for good: its keys and logins act no more"
    )
    p.add_argument("name", metavar="NAME", help="the principal to deactivate")
    p.add_argument("--reason", required=True, help="why; kept with the principal")
    p.set_defaults(handler=_deactivate, command_parser=p)


def _add(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    query, values = call(
        "create_principal", p_name=("text", args.name), p_kind=("text", args.kind), p_login=("text", args.login)
    )
    with admin_connected(args, "agentledger principals") as conn:
        row = one(conn.execute(sql.SQL("SELECT * FROM {}").format(query), values))
    acting = f"; database login {', '.join(row['logins'])} acts for it" if row["logins"] else ""
    print(f"added principal {row['name']} ({row['kind']}){acting}")
    return 0


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with admin_connected(args, "agentledger principals") as conn:
        rows = conn.execute("SELECT * FROM api.list_principals()").fetchall()
    if not rows:
        print("agentledger: no principals; add one with `agentledger principals add`", file=sys.stderr)
        return 0
    print_table(
        ("NAME", "KIND", "ACTIVE", "LOGINS", "KEYS", "CREATED", "DEACTIVATED", "REASON"),
        [
            (
                r["name"],
                r["kind"],
                "yes" if r["active"] else "no",
                ",".join(r["logins"] or []) or None,
                ",".join(r["keys"] or []) or None,
                r["created_at"],
                r["deactivated_at"],
                r["deactivate_reason"],
            )
            for r in rows
        ],
    )
    return 0


def _deactivate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with admin_connected(args, "agentledger principals") as conn:
        # deactivated_at = now() (the statement's transaction time) tells this call's deactivation from an earlier one.
        row = one(
            conn.execute(
                "SELECT p.*, p.deactivated_at = now() AS now_deactivated FROM api.deactivate_principal(%s, %s) p",
                (args.name, args.reason),
            )
        )
    when = f"{row['deactivated_at']:{TIME}}"
    if row["now_deactivated"]:
        print(f"deactivated principal {row['name']} ({row['kind']}) at {when}: its keys and logins act no more")
    else:
        print(
            f"principal {row['name']} was already deactivated at {when} ({cell(row['deactivate_reason'])}); nothing changed"
        )
    return 0
