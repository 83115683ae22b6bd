"""`agentledger db revert`: sqitch's revert, step for step.

Changes are reverted newest first. Per change: open the registry transaction
(locking sqitch.changes), run the revert script in its own session, then
delete the change (its dependencies go with it), its tags, and record a
revert event carrying the tags and dependencies it had. The first failure
stops the run; what was reverted before it stays reverted.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from agentledger.errors import AgentledgerError, PlanError, RegistryError, ScriptError
from agentledger.sqitch.plan import split_offset
from agentledger.sqitch.registry import DeployedChange, Revertible
from agentledger.sqitch.scripts import ScriptFailed
from agentledger.sqitch.session import DeploySession


class RevertFailed(AgentledgerError):
    """One change could not be reverted; the message says why."""


def find_deployed(session: DeploySession, key: str) -> DeployedChange | None:
    """A deployed change named like sqitch names one: change, change@tag, @tag,
    an id, HEAD or ROOT, each optionally followed by ^/~ offsets."""
    registry = session.registry
    project = session.plan.project
    key, offset = split_offset(key)
    name, at, tag = key.partition("@")
    if at:
        change_id = registry.change_id_for(project, change=name or None, tag=tag)
    elif len(name) == 40 and all(c in "0123456789abcdef" for c in name):
        change_id = registry.change_id_for(project, change_id=name)
    elif name in ("HEAD", "ROOT"):
        change_id = registry.change_id_for(project, tag=name)
    else:
        change_id = registry.change_id_for(project, change=name)
    if change_id is None:
        return None
    change_id = registry.offset_from(project, change_id, offset)
    return registry.load_change(change_id) if change_id else None


def revert(session: DeploySession, to: str | None, confirm: Callable[[str], bool]) -> int:
    """Revert to `to` (kept deployed) or everything. `confirm` asks the user, or
    returns True at once for -y; a refusal reverts nothing and fails."""
    console = session.console
    registry = session.registry
    registry.check_version(session.destination)
    session.lock()
    plan = session.plan

    if to is not None:
        target = find_deployed(session, to)
        if target is None:
            try:
                planned = plan.find(to)
            except PlanError:
                planned = None
            if planned is not None:
                raise AgentledgerError(f'Change not deployed: "{to}"')
            raise AgentledgerError(f'Unknown change: "{to}"')
        changes = registry.deployed_changes_since(plan.project, target.id)
        if not changes:
            console.info(f'No changes deployed since: "{to}"')
            return 0
        question = f"Revert changes to {target.format_name_with_tags} from {session.destination}?"
        announcement = f"Reverting changes to {target.format_name_with_tags} from {session.destination}"
    else:
        changes = registry.deployed_changes(plan.project)
        if not changes:
            console.info("Nothing to revert (nothing deployed)")
            return 0
        question = f"Revert all changes from {session.destination}?"
        announcement = f"Reverting all changes from {session.destination}"

    deployed = changes
    changes = list(reversed(changes))
    check_revert_dependencies(session, changes)
    # Read every script first, so one that cannot be run stops nothing halfway.
    for change in changes:
        session.load(session.scripts_for(change, deployed).revert, "revert")

    if not confirm(question):
        console.vent("Nothing reverted")
        return 1
    console.info(announcement)
    width = max(len(c.format_name_with_tags) for c in changes)
    for change in changes:
        try:
            revert_change(session, change, width, deployed)
        except RevertFailed as exc:
            console.vent(str(exc))
            console.vent("Revert failed")
            return 1
    return 0


def check_revert_dependencies(session: DeploySession, changes: list[DeployedChange]) -> None:
    """Refuse to revert a change that a change staying deployed requires."""
    project = session.plan.project
    seen: set[str] = set()
    problems: list[str] = []
    for change in changes:
        seen.add(change.id)
        requiring = [r for r in session.registry.changes_requiring(change.id) if r["change_id"] not in seen]
        if requiring:
            names = " ".join(
                ("" if r["project"] == project else r["project"] + ":") + r["change"] + (r["asof_tag"] or "")
                for r in requiring
            )
            problems.append(
                f'Change "{change.format_name_with_tags}" required by currently deployed change(s): {names}'
            )
    if problems:
        raise RegistryError("\n".join(problems))


def revert_change(
    session: DeploySession, change: Revertible, width: int, deployed: list[DeployedChange] | None = None
) -> None:
    console = session.console
    registry = session.registry
    console.start(console.progress_label("-", change.format_name_with_tags, width))
    failure: str | None = None
    try:
        scripts = session.scripts_for(change, deployed)
        script = session.load(scripts.revert, "revert")
        with registry.change_transaction():
            session.run(script)
            registry.log_revert(change, session.identity)
    except (ScriptFailed, ScriptError) as exc:
        failure = f"Revert script of {change.format_name_with_tags} failed:\n{exc}"
    except psycopg.Error as exc:
        failure = f"Registry error while reverting {change.format_name_with_tags}: {exc}"
    if failure is None:
        console.finish("ok")
        return
    console.finish("not ok")
    raise RevertFailed(failure)
