"""The `agentledger` command line.

Each command group lives in its own module and registers itself on the
top-level parser with `register(subparsers)`, setting `handler` (a function
taking the parsed arguments and the parser it came from, returning an exit
code). New groups (a server, workers) join by being added to GROUPS.

Exit codes: 0 success, 1 the operation failed, 2 the command was misused.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import psycopg

from agentledger import __version__
from agentledger.cli import audit, db, events, keys, principals, run, serve, stats, worker
from agentledger.errors import AgentledgerError

GROUPS = (db, principals, keys, events, stats, audit, serve, run, worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentledger", description="agentledger command line")
    parser.add_argument("--version", action="version", version=f"agentledger {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command_parser: argparse.ArgumentParser = args.command_parser
    try:
        return int(args.handler(args, command_parser))
    except AgentledgerError as exc:
        if exc.exit_code == 2:
            command_parser.error(str(exc))  # prints usage, exits 2
        print(f"agentledger: {exc}", file=sys.stderr)
        return exc.exit_code
    except psycopg.Error as exc:
        print(f"agentledger: database error: {str(exc).strip()}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("agentledger: interrupted", file=sys.stderr)
        return 130
