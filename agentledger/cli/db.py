"""`agentledger db ...`: deploy, revert, verify and status of the database schema.

The schema is the sqitch project at the repository root; these commands read
the same plan and scripts and keep sqitch's registry, so `sqitch` and
`agentledger db` can be used on one database interchangeably.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from agentledger import database
from agentledger.errors import UsageError
from agentledger.sqitch import function_changes
from agentledger.sqitch.console import Console
from agentledger.sqitch.deploy import MODES, deploy
from agentledger.sqitch.project import Project, find_project_dir
from agentledger.sqitch.revert import revert
from agentledger.sqitch.session import DeploySession
from agentledger.sqitch.status import status
from agentledger.sqitch.verify import verify


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: the options may come before or after the action without one
    # level's default overwriting the other's value.
    common.add_argument(
        "--db-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help=f"database to work on (default: ${database.ENV_VAR}); postgresql://, key=value or sqitch's db:pg:// form",
    )
    common.add_argument(
        "--project-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="sqitch project directory (default: the agentledger checkout)",
    )

    group = subparsers.add_parser(
        "db",
        parents=[common],
        help="deploy and inspect the database schema (sqitch-compatible)",
        description=__doc__.split("\n\n")[0],
    )
    group.set_defaults(command_parser=group)
    actions = group.add_subparsers(dest="db_action", metavar="ACTION", required=True)

    p = actions.add_parser("deploy", parents=[common], help="deploy pending changes")
    p.add_argument("--to", metavar="CHANGE", help="deploy up to and including CHANGE")
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="on failure revert the run's changes: all (default), back to the last tag, or none (change)",
    )
    p.set_defaults(handler=_deploy, command_parser=p)

    p = actions.add_parser("revert", parents=[common], help="revert deployed changes")
    p.add_argument("--to", metavar="CHANGE", help="revert the changes after CHANGE (CHANGE stays)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=_revert, command_parser=p)

    p = actions.add_parser("verify", parents=[common], help="run the verify scripts of deployed changes")
    p.set_defaults(handler=_verify, command_parser=p)

    p = actions.add_parser("status", parents=[common], help="show deployed and pending changes")
    p.set_defaults(handler=_status, command_parser=p)

    p = actions.add_parser(
        "functions",
        parents=[common],
        help="write the sqitch change of each SQL function from db/functions/<name>.sql",
        description=function_changes.__doc__.split("\n\n")[0],
    )
    p.add_argument("step", choices=["check", "sync"], help="check: what is out of date (exit 1); sync: write it")
    p.add_argument("-n", "--note", help="the plan note of the changes sync adds or reworks")
    p.add_argument(
        "-r", "--requires", action="append", default=[], metavar="CHANGE", help="a change a new function needs"
    )
    p.set_defaults(handler=_functions, command_parser=p)


def _run(args: argparse.Namespace, action: Callable[[DeploySession], int]) -> int:
    conninfo = database.resolve_url(getattr(args, "db_url", None))
    project = Project(find_project_dir(getattr(args, "project_dir", None)))
    session = DeploySession(project, conninfo, Console())
    try:
        return action(session)
    finally:
        session.close()


def _deploy(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    def action(session: DeploySession) -> int:
        mode = args.mode or session.project.config.get("deploy.mode") or "all"
        if mode not in MODES:
            raise UsageError(f"deploy.mode in sqitch.conf is {mode!r}; expected one of {', '.join(MODES)}")
        return deploy(session, args.to, mode)

    return _run(args, action)


def _revert(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _run(args, lambda session: revert(session, args.to, _confirmer(args.yes)))


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _run(args, verify)


def _status(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    return _run(args, status)


def _functions(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    root = find_project_dir(getattr(args, "project_dir", None))
    return function_changes.run(root, args.step, args.note, args.requires)


def _confirmer(assume_yes: bool) -> Callable[[str], bool]:
    """-y answers yes. Otherwise ask on a terminal (empty answer: yes, as sqitch);
    without a terminal refuse, rather than revert unattended by default."""
    if assume_yes:
        return lambda question: True

    def ask(question: str) -> bool:
        if not sys.stdin.isatty():
            raise UsageError("no terminal to confirm the revert on: pass -y to revert")
        for _ in range(3):
            answer = input(f"{question} [Yes] ").strip().lower()
            if answer in ("", "y", "ye", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            print('Please answer "y" or "n".')
        raise UsageError("no valid answer after 3 attempts")

    return ask
