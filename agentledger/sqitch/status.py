"""`agentledger db status`: what is deployed, and what the plan has beyond it."""

from __future__ import annotations

from agentledger.errors import PlanError
from agentledger.sqitch.session import DeploySession


def status(session: DeploySession) -> int:
    console = session.console
    plan = session.plan
    registry = session.registry
    console.comment(f"On database {session.destination}")
    console.comment(f"Project:  {plan.project}")

    if registry.initialized():
        registry.check_version(session.destination)
        deployed = registry.deployed_changes(plan.project)
    else:
        deployed = []

    if not deployed:
        console.comment("No changes deployed")
        console.comment()
        _pending(session, 0)
        return 0

    latest = deployed[-1]
    console.comment(f"Change:   {latest.id}")
    console.comment(f"Name:     {latest.name}")
    if latest.tags:
        console.comment(f"Tags:     {', '.join(latest.tags)}")
    console.comment(f"Deployed: {latest.committed_at:%Y-%m-%d %H:%M:%S %z}")
    console.comment(f"By:       {latest.committer_name} <{latest.committer_email}>")
    console.comment()
    console.info(f"Deployed changes ({len(deployed)}):")
    for change in deployed:
        console.info(f"  + {change.format_name_with_tags}")

    idx = plan.index_of_id(latest.id)
    if idx is None:
        raise PlanError(
            f"The latest deployed change ({latest.name}, {latest.id}) is not in {plan.path}: "
            "is this the right database for this project?"
        )
    _pending(session, idx + 1)
    return 0


def _pending(session: DeploySession, start: int) -> None:
    pending = session.plan.changes[start:]
    if not pending:
        session.console.info("Nothing to deploy (up-to-date)")
        return
    session.console.info(f"Undeployed changes ({len(pending)}):")
    for change in pending:
        session.console.info(f"  * {change.format_name_with_tags}")
