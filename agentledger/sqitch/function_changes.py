"""One sqitch change per SQL function, written from db/functions/<name>.sql.

A person edits only db/functions/<name>.sql: one CREATE OR REPLACE FUNCTION, its COMMENT and its
grants. The change functions/<name> in sqitch.plan deploys it; this tool writes that change's
deploy, revert and verify scripts, so no function body is ever copied by hand:

- a new source gets a new change: the deploy creates the function, the revert drops it;
- an edited source whose change is not tagged yet gets its scripts written again;
- an edited source whose change was tagged since is reworked, as `sqitch rework` would: the
  change's scripts are frozen as functions/<name>@<tag>.sql, a new line goes into the plan, and
  the new revert puts back the body frozen in the old deploy script.

When a rework changes the function's arguments or result, its deploy drops the old signature
first and its revert drops the new one (CREATE OR REPLACE cannot change them).

Why deploy scripts hold copies rather than `\\i db/functions/...`: sqitch replays a frozen script
whenever it deploys that old version again, and an include would load today's body instead of
the one the script shipped with.

    agentledger db functions check            exit 1 if any script is out of date
    agentledger db functions sync -n "why"    write what is out of date (the note goes into the plan)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agentledger.sqitch.plan import Plan, parse_plan

OWNER_ROLE = "agentledger_owner"
PLANNER = "agentledger maintainers <maintainers@agentledger.invalid>"
CHANGE_DIR = "functions"

_CREATE = re.compile(r"^CREATE\s+OR\s+REPLACE\s+FUNCTION\s+(?P<name>[\w.]+)\s*\(", re.MULTILINE | re.IGNORECASE)
_COMMENT = re.compile(r"^COMMENT\s+ON\s+FUNCTION\s+(?P<signature>[\w.]+\s*\([^)]*\))\s+IS", re.MULTILINE)
# Clauses that may follow RETURNS: a change in any of them is made by CREATE OR REPLACE.
_AFTER_RETURNS = re.compile(
    r"\s(?:LANGUAGE|AS|SECURITY|SET|STABLE|IMMUTABLE|VOLATILE|STRICT|CALLED|PARALLEL|COST|ROWS|"
    r"LEAKPROOF|NOT|EXTERNAL|WINDOW|TRANSFORM|SUPPORT|BEGIN)\b",
    re.IGNORECASE,
)


class SourceError(Exception):
    """A db/functions file that the tool cannot turn into a change."""


@dataclass(frozen=True)
class FunctionSource:
    """One function as its file states it."""

    name: str  # the file's stem: the function's name without its schema
    relpath: str  # e.g. db/functions/claim_events.sql
    text: str

    @property
    def signature(self) -> str:
        """The function's identity, as its COMMENT ON FUNCTION line writes it: schema.name(types)."""
        return _COMMENT.search(self.text).group("signature")  # type: ignore[union-attr]

    @property
    def header(self) -> str:
        """Name, arguments and result, whitespace folded: what CREATE OR REPLACE cannot change."""
        return function_header(self.text)


def function_header(text: str) -> str:
    match = _CREATE.search(text)
    if match is None:
        raise SourceError("no CREATE OR REPLACE FUNCTION statement")
    end = _closing_paren(text, match.end() - 1)
    rest = _AFTER_RETURNS.search(text, end + 1)
    if rest is None:
        raise SourceError("no LANGUAGE or AS after the arguments")
    return " ".join(text[match.start("name") : rest.start()].split())


def _closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at start; quoted strings are skipped."""
    depth, index, quote = 0, start, ""
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise SourceError("the argument list is not closed")


def read_source(root: Path, path: Path) -> FunctionSource:
    text = path.read_text()
    text = text if text.endswith("\n") else text + "\n"
    relpath = path.relative_to(root).as_posix()
    creates = _CREATE.findall(text)
    comments = _COMMENT.findall(text)
    expected = {path.stem, f"ledger.{path.stem}", f"api.{path.stem}"}
    if len(creates) != 1 or creates[0] not in expected - {path.stem}:
        raise SourceError(f"{relpath}: must hold exactly one CREATE OR REPLACE FUNCTION <schema>.{path.stem}(...)")
    if len(comments) != 1 or comments[0].split("(")[0].strip() != creates[0]:
        raise SourceError(f"{relpath}: must hold exactly one COMMENT ON FUNCTION {creates[0]}(<types>)")
    source = FunctionSource(path.stem, relpath, text)
    function_header(text)  # raises on a header it cannot read
    return source


def read_sources(root: Path) -> dict[str, FunctionSource]:
    return {p.stem: read_source(root, p) for p in sorted((root / "db" / "functions").glob("*.sql"))}


# --- the scripts -------------------------------------------------------------------------------


def block(source_relpath: str, body: str) -> str:
    return f"-- begin {source_relpath}\n{body}-- end {source_relpath}\n"


def body_of(script: str, source_relpath: str) -> str | None:
    """The copy of source_relpath that a script holds between its markers, or None."""
    match = re.search(
        rf"^-- begin {re.escape(source_relpath)}(?: [^\n]*)?\n(.*?)^-- end {re.escape(source_relpath)}\n",
        script,
        re.MULTILINE | re.DOTALL,
    )
    return match.group(1) if match else None


_ANY_CREATE = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?:\w+\.)?(?P<name>\w+)", re.MULTILINE | re.IGNORECASE
)


def only_function(body: str, name: str) -> str:
    """The part of a copied body that defines function name, as CREATE OR REPLACE.

    Bodies copied by changes made before one change per function may define several functions
    with CREATE FUNCTION: putting one back means replacing that one alone.
    """
    starts = list(_ANY_CREATE.finditer(body))
    if len(starts) <= 1:
        return body
    for index, match in enumerate(starts):
        if match.group("name") == name:
            end = starts[index + 1].start() if index + 1 < len(starts) else len(body)
            part = body[match.start() : end].rstrip("\n") + "\n"
            return re.sub(r"^CREATE\s+FUNCTION", "CREATE OR REPLACE FUNCTION", part, flags=re.IGNORECASE)
    return body


def _transaction(title: str, why: str, statements: list[str]) -> str:
    lines = [title, *(f"-- {line}" for line in why.splitlines())]
    return "\n".join(lines) + "\nBEGIN;\n" + f"SET LOCAL ROLE {OWNER_ROLE};\n\n" + "\n".join(statements) + "\nCOMMIT;\n"


def deploy_script(project: str, source: FunctionSource, previous: FunctionSource | None) -> str:
    statements = []
    if previous is not None and previous.header != source.header:
        statements.append(f"DROP FUNCTION {previous.signature};\n")
    statements.append(block(source.relpath, source.text))
    why = f"Written by `agentledger db functions` from {source.relpath}: edit that file, not this one."
    return _transaction(f"-- Deploy {project}:{CHANGE_DIR}/{source.name} to pg", why, statements)


def revert_script(project: str, source: FunctionSource, previous: FunctionSource | None) -> str:
    """Put back the body the change replaced (previous), or drop a function the change created."""
    title = f"-- Revert {project}:{CHANGE_DIR}/{source.name} from pg"
    if previous is None:
        why = "Written by `agentledger db functions`: the change created the function."
        return _transaction(title, why, [f"DROP FUNCTION {source.signature};\n"])
    statements = []
    if previous.header != source.header:
        statements.append(f"DROP FUNCTION {source.signature};\n")
    statements.append(block(previous.relpath, previous.text))
    why = "Written by `agentledger db functions`: the body this change replaced."
    return _transaction(title, why, statements)


def verify_script(project: str, source: FunctionSource) -> str:
    return (
        f"-- Verify {project}:{CHANGE_DIR}/{source.name} on pg\n"
        "-- Written by `agentledger db functions`: raises when the function is missing.\n"
        f"SELECT '{source.signature}'::regprocedure;\n"
    )


# --- the plan ----------------------------------------------------------------------------------


KINDS = ("deploy", "revert", "verify")


@dataclass
class Scripts:
    deploy: Path
    revert: Path
    verify: Path

    def by_kind(self) -> dict[str, Path]:
        return {"deploy": self.deploy, "revert": self.revert, "verify": self.verify}


def script_paths(root: Path, name: str, suffix: str = "") -> Scripts:
    """The scripts of change functions/<name>, or of its version frozen with suffix (an @tag)."""
    return Scripts(*(root / "db" / kind / CHANGE_DIR / f"{name}{suffix}.sql" for kind in KINDS))


@dataclass
class FunctionChange:
    """The latest change of one function in the plan, and what it replaced."""

    root: Path
    plan: Plan
    name: str
    index: int  # of the latest change named functions/<name>
    previous: int | None  # of the change before it of that name, if it was reworked

    @property
    def tagged(self) -> bool:
        """Has a tag been planned at or after this change? Then it may only be reworked."""
        return any(change.tags for change in self.plan.changes[self.index :])

    def scripts(self, suffix: str = "") -> Scripts:
        return script_paths(self.root, self.name, suffix)

    def frozen_scripts(self) -> Scripts | None:
        """The scripts the previous change of this name was frozen as, if it was reworked."""
        if self.previous is None:
            return None
        tags = [tag.format_name for tag in self.plan.changes[self.previous].rework_tags]
        found = [self.scripts(tag) for tag in tags if self.scripts(tag).deploy.exists()]
        return found[0] if found else self.scripts(tags[0])

    def replaced(self, relpath: str) -> FunctionSource | None:
        """The body the latest change replaced: frozen in the previous deploy, or put back by a takeover.

        A function taken over from a group change has no previous change of its name; its revert
        holds the body the group left (the same one), and that is what it replaced.
        """
        frozen = self.frozen_scripts()
        script = frozen.deploy if frozen else self.scripts().revert
        if not script.exists():
            return None
        body = body_of(script.read_text(), relpath)
        return None if body is None else FunctionSource(self.name, relpath, only_function(body, self.name))


def function_changes(root: Path, plan: Plan) -> dict[str, FunctionChange]:
    found: dict[str, FunctionChange] = {}
    for index, change in enumerate(plan.changes):
        folder, _, name = change.name.partition("/")
        if folder != CHANGE_DIR or not (root / "db" / "functions" / f"{name}.sql").exists():
            continue
        earlier = found.get(name)
        found[name] = FunctionChange(root, plan, name, index, earlier.index if earlier else None)
    return found


def plan_line(name: str, requires: list[str], note: str, now: datetime) -> str:
    deps = f" [{' '.join(requires)}]" if requires else ""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{CHANGE_DIR}/{name}{deps} {stamp} {PLANNER} # {note}\n"


# --- check and sync ----------------------------------------------------------------------------


@dataclass
class Step:
    """One thing out of date, and how sync brings it up to date."""

    name: str
    kind: str  # "add", "write" or "rework"
    detail: str


def wanted(project: str, source: FunctionSource, replaced: FunctionSource | None) -> dict[str, str]:
    return {
        "deploy": deploy_script(project, source, replaced),
        "revert": revert_script(project, source, replaced),
        "verify": verify_script(project, source),
    }


def differing(scripts: Scripts, want: dict[str, str]) -> list[str]:
    return [kind for kind, path in scripts.by_kind().items() if not path.exists() or path.read_text() != want[kind]]


def plan_steps(root: Path) -> list[Step]:
    plan = parse_plan(root / "sqitch.plan")
    changes = function_changes(root, plan)
    steps = []
    for name, source in read_sources(root).items():
        change = changes.get(name)
        if change is None:
            steps.append(Step(name, "add", f"{source.relpath} has no change {CHANGE_DIR}/{name} in the plan"))
            continue
        current = change.scripts()
        deployed = body_of(current.deploy.read_text(), source.relpath) if current.deploy.exists() else None
        if change.tagged:
            # Its scripts are deployed somewhere and stay as they are: only a new body reworks it.
            if deployed != source.text:
                steps.append(Step(name, "rework", f"{source.relpath} changed since {CHANGE_DIR}/{name} was tagged"))
            continue
        stale = differing(current, wanted(plan.project, source, change.replaced(source.relpath)))
        if stale:
            steps.append(Step(name, "write", f"{CHANGE_DIR}/{name}: {', '.join(stale)} out of date"))
    return steps


def apply(root: Path, step: Step, note: str | None, requires: list[str], now: datetime) -> None:
    plan = parse_plan(root / "sqitch.plan")
    source = read_source(root, root / "db" / "functions" / f"{step.name}.sql")
    change = function_changes(root, plan).get(step.name)
    if step.kind == "write" and change is not None:
        replaced = change.replaced(source.relpath)
        if change.previous is None and replaced is not None:
            raise SourceError(
                f"{CHANGE_DIR}/{step.name} took its function over from a group change: "
                "tag the plan, then edit the source again to rework it"
            )
        _write(change.scripts(), wanted(plan.project, source, replaced))
        return
    if note is None:
        raise SourceError(f"{step.detail}: give a note (-n) for the plan")
    if step.kind == "add":
        _append(root, plan_line(step.name, requires, note, now))
        _write(script_paths(root, step.name), wanted(plan.project, source, None))
        return
    if change is None:
        raise SourceError(f"{step.detail}: no earlier change to rework")
    tag = next(c.tags[-1] for c in reversed(plan.changes) if c.tags).format_name
    frozen = change.scripts(tag).by_kind()
    for kind, old in change.scripts().by_kind().items():
        old.rename(frozen[kind])
    _append(root, plan_line(step.name, [f"{CHANGE_DIR}/{step.name}{tag}", *requires], note, now))
    reworked = function_changes(root, parse_plan(root / "sqitch.plan"))[step.name]
    _write(reworked.scripts(), wanted(plan.project, source, reworked.replaced(source.relpath)))


def _write(scripts: Scripts, want: dict[str, str]) -> None:
    for kind, path in scripts.by_kind().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != want[kind]:
            path.write_text(want[kind])


def _append(root: Path, line: str) -> None:
    plan = root / "sqitch.plan"
    text = plan.read_text()
    plan.write_text(text + ("" if text.endswith("\n") else "\n") + line)


def run(root: Path, command: str, note: str | None = None, requires: list[str] | None = None) -> int:
    """check: list what is out of date (exit 1 if anything is); sync: bring it up to date."""
    try:
        steps = plan_steps(root)
        for step in steps:
            if command == "check":
                print(f"{step.kind}: {step.detail}")
            else:
                apply(root, step, note, requires or [], datetime.now(UTC))
                print(f"{step.kind}: {CHANGE_DIR}/{step.name}")
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if command == "check":
        print(f"{len(steps)} function change(s) out of date" if steps else "every function change is up to date")
        return 1 if steps else 0
    return 0
