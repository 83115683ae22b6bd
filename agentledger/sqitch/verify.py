"""`agentledger db verify`: run the verify script of every deployed change.

Like sqitch: deployed changes are checked in deployment order against the
plan (out of order, or no longer planned, is an error), a planned change
missing between deployed ones is an error, a missing verify script is only a
warning, and verify scripts of reworked (superseded) changes are skipped.
Changes planned after the latest deployed one are listed, not errors.
"""

from __future__ import annotations

from agentledger.errors import AgentledgerError, ScriptError
from agentledger.sqitch.registry import DeployedChange
from agentledger.sqitch.scripts import ScriptFailed
from agentledger.sqitch.session import DeploySession


def verify(session: DeploySession) -> int:
    console = session.console
    plan = session.plan
    registry = session.registry
    registry.check_version(session.destination)
    deployed = registry.deployed_changes(plan.project)

    console.info(f"Verifying {session.destination}")
    if not deployed:
        console.info("No changes deployed" if plan.changes else "Nothing to verify (no planned or deployed changes)")
        return 0
    if not plan.changes:
        raise AgentledgerError("There are deployed changes, but none planned!")

    latest = plan.index_of_id(deployed[-1].id)
    to_idx = latest if latest is not None else len(plan) - 1
    names = [c.format_name_with_tags for c in deployed]
    names += [plan.changes[i].format_name_with_tags for i in range(to_idx + 1)]
    width = max(len(n) for n in names)

    errors = 0
    seen: set[int] = set()
    for i, change in enumerate(deployed):
        name = change.format_name_with_tags
        console.start(console.progress_label("*", name, width))
        problems: list[str] = []
        reworked = False
        plan_idx = plan.index_of_id(change.id)
        if plan_idx is None:
            problems.append("Not present in the plan")
        else:
            seen.add(plan_idx)
            if plan_idx != i:
                problems.append("Out of order")
            reworked = plan.changes[plan_idx].is_reworked
        if not reworked:
            problem = _run_verify(session, change, deployed)
            if problem:
                problems.append(problem)
        if problems:
            console.finish("not ok")
            for problem in problems:
                for line in problem.splitlines():
                    console.comment(line)
        else:
            console.finish("ok")
        errors += len(problems)

    for idx in range(to_idx + 1):
        if idx not in seen:
            console.start(console.progress_label("*", plan.changes[idx].format_name_with_tags, width))
            console.finish("not ok")
            console.comment("Not deployed")
            errors += 1

    pending = plan.changes[to_idx + 1 :]
    if pending:
        console.info("Undeployed change(s):")
        for planned in pending:
            console.info(f"  * {planned.format_name_with_tags}")

    if errors:
        title = "Verify Summary Report"
        console.info()
        console.info(title)
        console.info("-" * len(title))
        console.info(f"Changes: {max(len(deployed), to_idx + 1)}")
        console.info(f"Errors:  {errors}")
        console.vent("Verify failed")
        return 1
    console.info("Verify successful")
    return 0


def _run_verify(session: DeploySession, change: DeployedChange, deployed: list[DeployedChange]) -> str | None:
    path = session.scripts_for(change, deployed).verify
    if not path.exists():
        session.console.vent(f"Verify script {session.show(path)} does not exist")
        return None
    try:
        session.run(session.load(path, "verify"))
    except (ScriptFailed, ScriptError) as exc:
        return f'Verify script "{session.show(path)}" failed.\n{exc}'
    return None
