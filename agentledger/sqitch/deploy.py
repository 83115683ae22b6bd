"""`agentledger db deploy`: sqitch's deploy, step for step.

Per change: open the registry transaction (locking sqitch.changes), run the
deploy script in its own session (the script commits its own transaction),
then record the change, its dependencies, tags and a deploy event, and
commit. When a script fails, a 'fail' event is recorded and, by default
(mode "all"), the changes deployed earlier in the same run are reverted, as
sqitch does. Mode "tag" reverts back to the last tag deployed in the run;
mode "change" keeps everything that succeeded.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from agentledger.errors import AgentledgerError, PlanError, ScriptError
from agentledger.sqitch.plan import Change, Dependency
from agentledger.sqitch.registry import Registry
from agentledger.sqitch.revert import RevertFailed, revert_change
from agentledger.sqitch.scripts import LoadedScript, ScriptFailed
from agentledger.sqitch.session import DeploySession

MODES = ("all", "tag", "change")


class DeployFailed(AgentledgerError):
    """One change could not be deployed; the message says why."""


def deploy(session: DeploySession, to: str | None = None, mode: str = "all") -> int:
    plan = session.plan
    console = session.console
    if not plan.changes:
        raise PlanError("Nothing to deploy (empty plan)")
    registry = session.registry
    session.lock()
    position, start_at = _sync_plan(session)

    to_index = len(plan) - 1
    if to is not None:
        found = plan.index_of(to)
        if found is None:
            raise PlanError(f'Unknown change: "{to}"')
        to_index = found
        if to_index == position:
            console.info(f'Nothing to deploy (already at "{to}")')
            return 0
    if position == to_index:
        console.info("Nothing to deploy (up-to-date)")
        return 0

    if to_index < position:
        raise AgentledgerError('Cannot deploy to an earlier change; use "revert" instead')
    todo = plan.changes[position + 1 : to_index + 1]
    # Read every script first: one that cannot be run here (an unsupported psql
    # meta-command, a missing include) stops the run before anything changes.
    loaded = {c.id: session.load(session.scripts_for(c).deploy, "deploy") for c in todo}

    if position == -1:
        if not registry.initialized():
            console.info(f"Adding registry tables to {session.destination}")
            registry.initialize(session.identity)
        registry.register_project(plan, session.identity)
    if to is not None:
        console.info(
            f"Deploying changes through {plan.changes[to_index].format_name_with_tags} to {session.destination}"
        )
    else:
        console.info(f"Deploying changes to {session.destination}")
    resolved = check_dependencies(registry, session, todo)

    width = max(len(c.format_name_with_tags) for c in todo)
    run: list[Change] = []
    last_tagged: Change | None = None
    for change in todo:
        try:
            deploy_change(session, change, resolved, width, loaded[change.id])
        except DeployFailed as exc:
            console.vent(str(exc))
            if mode != "change":
                _rollback(session, run, last_tagged, start_at, width)
            console.vent("Deploy failed")
            return 1
        run.append(change)
        if mode == "tag" and change.tags:
            run, last_tagged = [], change
    return 0


def _sync_plan(session: DeploySession) -> tuple[int, str | None]:
    """Where the database is in the plan: the index of the latest deployed change
    (-1 for none) and its name, as sqitch reports it when rolling back."""
    registry = session.registry
    plan = session.plan
    if registry.initialized():
        registry.check_version(session.destination)
    state = registry.current_state(plan.project)
    if state is None:
        return -1, None
    idx = plan.index_of_id(state.id)
    if idx is None:
        raise PlanError(f"Cannot find change {state.id} ({state.format_name_with_tags}) in {plan.path}")
    change = plan.changes[idx]
    if change.tags:
        registry.log_new_tags(change, session.identity)
        return idx, change.name + change.tags[-1].format_name
    return idx, change.name


def _depend_id(registry: Registry, session: DeploySession, dep: Dependency) -> str | None:
    return registry.change_id_for(
        dep.resolved_project or session.plan.project,
        change_id=dep.plan_id,
        change=dep.change,
        tag=dep.tag,
        first=True,
    )


def check_dependencies(registry: Registry, session: DeploySession, todo: list[Change]) -> dict[int, str | None]:
    """Resolve each requirement to a change id (planned in this run, or deployed),
    refuse conflicts with deployed changes, and refuse changes already deployed."""
    resolved: dict[int, str | None] = {}
    seen: set[str] = set()
    conflicts: list[str] = []
    missing: list[str] = []
    for change in todo:
        for dep in change.conflicts:
            if (dep.plan_id and dep.plan_id in seen) or _depend_id(registry, session, dep):
                conflicts.append(dep.as_string())
        for dep in change.requires:
            rid = dep.plan_id if dep.plan_id in seen else _depend_id(registry, session, dep)
            resolved[id(dep)] = rid
            if not rid:
                missing.append(dep.as_string())
        seen.add(change.id)

    problems = []
    if conflicts:
        problems.append("Conflicts with previously deployed change(s): " + " ".join(dict.fromkeys(conflicts)))
    if missing:
        problems.append("Missing required change(s): " + " ".join(dict.fromkeys(missing)))
    if problems:
        raise AgentledgerError("\n".join(problems))

    already = set(registry.deployed_ids([c.id for c in todo]))
    if already:
        names = ", ".join(f"{c.format_name_with_tags} ({c.id})" for c in todo if c.id in already)
        raise AgentledgerError(f"Changes have already been deployed: {names}")
    return resolved


def deploy_change(
    session: DeploySession, change: Change, resolved: dict[int, str | None], width: int, script: LoadedScript
) -> None:
    console = session.console
    registry = session.registry
    console.start(console.progress_label("+", change.format_name_with_tags, width))
    scripts = session.scripts_for(change)
    failure: str | None = None
    try:
        with registry.change_transaction():
            session.run(script)
            try:
                registry.log_deploy(change, session.script_hash(scripts.deploy), resolved, session.identity)
            except psycopg.Error as exc:
                failure = f"Cannot record {change.name} in the registry: {exc}"
                raise
    except (ScriptFailed, ScriptError) as exc:
        failure = f"Deploy script of {change.format_name_with_tags} failed:\n{exc}"
    except psycopg.Error as exc:
        if failure is None:
            failure = f"Registry error while deploying {change.format_name_with_tags}: {exc}"
        else:
            # The change is applied but unrecorded: undo it with its revert script.
            failure += _undo_unrecorded(session, scripts.revert)
    if failure is None:
        console.finish("ok")
        return
    try:
        registry.log_fail(change, session.identity)
    except psycopg.Error as exc:
        failure += f"\n(could not record the failure in the registry: {exc})"
    console.finish("not ok")
    raise DeployFailed(failure)


def _undo_unrecorded(session: DeploySession, revert_path: Path) -> str:
    try:
        session.run(session.load(revert_path, "revert"))
    except (ScriptFailed, ScriptError) as exc:
        return f"\nReverting it failed too:\n{exc}"
    return "\nIts revert script was run."


def _rollback(
    session: DeploySession, run: list[Change], last_tagged: Change | None, start_at: str | None, width: int
) -> None:
    """Revert the changes deployed earlier in this run, newest first."""
    if not run:
        return
    console = session.console
    label = last_tagged.format_name_with_tags if last_tagged else start_at
    console.vent(f"Reverting to {label}" if label else "Reverting all changes")
    try:
        for change in reversed(run):
            revert_change(session, change, width)
    except RevertFailed as exc:
        console.vent(str(exc))
        console.vent("The schema will need to be manually repaired")
