"""`agentledger events ...`: submit, list, show, trace, re-queue and cancel events from a shell.

Each action calls one function of the `api` schema (api.submit_event, api.list_events,
api.get_event, api.event_history with api.verify_audit, api.requeue_event, api.cancel_event), so
the database's rules decide, as they do for every other client. Its refusals are shown with their
message and hint (exit 1). Connect as a member of agentledger_api (or as an administrator); a
worker or auditor login may use the reads its role allows. A change is made by the principal the
login acts for (`agentledger principals add NAME --kind human --login LOGIN`): the database names
it in the audit trail.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.rows import DictRow

from agentledger.cli.common import call, cell, connected, db_url_parent, print_table
from agentledger.database import one
from agentledger.errors import UsageError

# --- registration ---------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    common = db_url_parent()
    group = subparsers.add_parser(
        "events",
        parents=[common],
        help="submit, list, show and trace events; re-queue or cancel one",
        description=__doc__.split("\n\n")[0],
    )
    group.set_defaults(command_parser=group)
    actions = group.add_subparsers(dest="events_action", metavar="ACTION", required=True)

    def action(name: str, handler: Callable[..., int], summary: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, parents=[common], help=summary, description=summary)
        p.set_defaults(handler=handler, command_parser=p)
        return p

    p = action("submit", _submit, "submit an event; prints its id alone on stdout")
    p.add_argument("--customer", required=True, help="the customer the event is about")
    p.add_argument("--type", required=True, dest="event_type", help="a registered event type")
    p.add_argument("--payload", default="{}", metavar="JSON", help="a JSON object (default: {})")
    p.add_argument("--priority", type=_integer(32), help="higher runs first (default: 0)")
    p.add_argument(
        "--idempotency-key", metavar="KEY", help="repeating the same submit with this key returns the first event"
    )

    p = action("list", _list, "list events in id order, a page at a time")
    p.add_argument("--status", help="queued, processing, in_review, approved, rejected, completed or failed")
    p.add_argument("--customer", help="only this customer's events")
    p.add_argument("--type", dest="event_type", help="only events of this type")
    p.add_argument("--limit", type=_integer(32), help="at most this many (1-1000; default: 100)")
    p.add_argument("--after-id", type=_integer(64), metavar="ID", help="the page after this id (the last one shown)")
    _json_option(p, "one JSON object per event and line")

    p = action("show", _show, "show one event")
    _id_argument(p)
    _json_option(p, "the event as one JSON object")

    p = action("history", _history, "show an event's audit trail and check its hash chain")
    _id_argument(p)
    _json_option(p, 'one JSON object per audit row, then {"verify_audit": {...}}')

    p = action("requeue", _requeue, "put a failed event back in the queue (attempts start afresh)")
    _id_argument(p)
    p.add_argument("--reason", required=True, help="why; kept in the audit trail")

    p = action("cancel", _cancel, "cancel a queued event: it becomes failed and is never claimed")
    _id_argument(p)
    p.add_argument("--reason", required=True, help="why; kept in the audit trail")


def _id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("event_id", type=_integer(64), metavar="ID", help="the event's id")


def _integer(bits: int) -> Callable[[str], int]:
    """An argparse type: an integer that fits PostgreSQL's integer (32) or bigint (64); what the
    value may be beyond that is the database's to say."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low} to {high})")
        return value

    return parse


def _json_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--json", action="store_true", help=f"print {what}, as the database renders it")


# --- actions --------------------------------------------------------------------------------------


def _submit(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    _check_json_text(args.payload)
    query, values = call(
        "submit_event",
        p_customer_id=("text", args.customer),
        p_event_type=("text", args.event_type),
        p_payload=("jsonb", args.payload),
        p_priority=("integer", args.priority),
        p_idempotency_key=("text", args.idempotency_key),
    )
    with connected(args, "agentledger events") as conn:
        receipt = one(conn.execute(sql.SQL("SELECT * FROM {}").format(query), values))
    # The id alone on stdout, so `ID=$(agentledger events submit ...)` captures it; the note on stderr.
    print(receipt["id"], flush=True)
    if receipt["created"]:
        note = (
            f"submitted event {receipt['id']} ({receipt['event_type']} for {receipt['customer_id']}): "
            f"{receipt['status']}"
        )
    else:
        note = (
            f"idempotency key {receipt['idempotency_key']!r} was used before by event {receipt['id']} "
            f"({receipt['status']}): nothing new was submitted"
        )
    print(f"agentledger: {note}", file=sys.stderr)
    return 0


def _check_json_text(text: str) -> None:
    """Misuse (exit 2) when --payload is not JSON at all; whether it is an acceptable payload (an
    object, small enough) is the database's to say. The text itself is sent, not a re-encoding."""

    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON value")

    try:
        json.loads(text, parse_constant=no_constant)
    except ValueError as exc:
        raise UsageError(f"--payload is not valid JSON: {exc}") from None
    except RecursionError:
        pass  # deeper than Python reads: the database decides


def _list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    query, values = call(
        "list_events",
        p_status=("text", args.status),
        p_customer_id=("text", args.customer),
        p_event_type=("text", args.event_type),
        p_after_id=("bigint", args.after_id),
        p_limit=("integer", args.limit),
    )
    with connected(args, "agentledger events") as conn:
        rows = conn.execute(sql.SQL("SELECT to_jsonb(e)::text AS json, e.* FROM {} e").format(query), values).fetchall()
    if args.json:
        for row in rows:
            print(row["json"])
    elif rows:
        print_table(
            ("ID", "STATUS", "TYPE", "CUSTOMER", "PRIORITY", "ATTEMPTS", "RUN AFTER", "UPDATED", "BY"),
            [
                (
                    r["id"],
                    r["status"],
                    r["event_type"],
                    r["customer_id"],
                    r["priority"],
                    f"{r['attempts']}/{r['max_attempts']}",
                    r["run_after"],
                    r["updated_at"],
                    r["changed_by"],
                )
                for r in rows
            ],
        )
    else:
        print("agentledger: no events match", file=sys.stderr)
    if rows and len(rows) == (args.limit or 100):  # a full page (100: api.list_events' default)
        print(f"agentledger: there may be more: add --after-id {rows[-1]['id']}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with connected(args, "agentledger events") as conn:
        row = one(
            conn.execute("SELECT to_jsonb(e)::text AS json, e.* FROM api.get_event(%s::bigint) e", [args.event_id])
        )
    if args.json:
        print(row["json"])
        return 0
    fields = [(name.replace("_", " "), value) for name, value in row.items() if name != "json"]
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        print(f"{name.ljust(width)}  {cell(value)}")
    return 0


def _history(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    with connected(args, "agentledger events") as conn:
        # One snapshot for the trail and its check, so a change committed in between cannot split them.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            rows = conn.execute(
                "SELECT to_jsonb(a)::text AS json, a.* FROM api.event_history(%s::bigint) a", [args.event_id]
            ).fetchall()
            verdict, unchecked = _verdict(conn, args.event_id)
    if args.json:
        for row in rows:
            print(row["json"])
        print(verdict if verdict is not None else json.dumps({"verify_audit": None, "not_checked": unchecked}))
    else:
        print_table(
            (
                "SEQ",
                "VERSION",
                "FROM",
                "TO",
                "ACTOR",
                "KIND",
                "API KEY",
                "DB USER",
                "ATTEMPT",
                "RECORDED",
                "REASON",
                "DETAILS",
            ),
            [
                (
                    r["seq"],
                    r["version"],
                    r["from_status"],
                    r["to_status"],
                    r["actor"],
                    r["actor_kind"],
                    r["api_key"],
                    r["db_user"],
                    r["attempt"],
                    r["recorded_at"],
                    r["reason"],
                    r["details"],
                )
                for r in rows
            ],
        )
    return _chain_line(args.event_id, verdict, unchecked, readable=not args.json)


def _verdict(conn: psycopg.Connection[DictRow], event_id: int) -> tuple[str | None, str | None]:
    """api.verify_audit(event_id) as JSON text, or None and why it could not be run."""
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the reading transaction usable
            row = one(
                conn.execute(
                    "SELECT jsonb_build_object('verify_audit', to_jsonb(v))::text AS json "
                    "FROM api.verify_audit(%s::bigint) v",
                    [event_id],
                )
            )
    except psycopg.errors.InsufficientPrivilege as exc:
        return None, f"{exc.diag.message_primary} (a member of agentledger_api or agentledger_auditor may check it)"
    return row["json"], None


def _chain_line(event_id: int, verdict: str | None, unchecked: str | None, readable: bool) -> int:
    """The chain check: intact (0), broken (1) or not checked (1). Readable output ends with a line
    saying which; a failure is also said on stderr, so a script sees it whatever it prints."""
    check = json.loads(verdict)["verify_audit"] if verdict is not None else None
    if check is None:
        line, failure = "audit chain: not checked", f"the audit chain of event {event_id} was not checked: {unchecked}"
    elif check["ok"]:
        line, failure = f"audit chain: ok ({check['rows_checked']} rows checked)", None
    else:
        line, failure = f"audit chain: BROKEN: {check['problem']}", f"the audit chain of event {event_id} is broken"
    if readable:
        print(line, flush=True)
    if failure is None:
        return 0
    print(f"agentledger: {failure}" + ("" if readable or check is None else f": {check['problem']}"), file=sys.stderr)
    return 1


def _requeue(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _operator_step(args, "requeue_event", "re-queued")


def _cancel(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _operator_step(args, "cancel_event", "cancelled")


def _operator_step(args: argparse.Namespace, function: str, done: str) -> int:
    query, values = call(function, p_event_id=("bigint", args.event_id), p_reason=("text", args.reason))
    with connected(args, "agentledger events") as conn:
        event = one(conn.execute(sql.SQL("SELECT * FROM {}").format(query), values))
    print(
        f"{done} event {event['id']}: now {event['status']} (version {event['version']}) "
        f"by {event['changed_by']}: {cell(event['change_reason'])}"
    )
    return 0
