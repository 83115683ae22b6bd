#!/usr/bin/env python3
"""Copy db/functions/*.sql into the sqitch deploy scripts that define them.

Why copies: `sqitch rework` freezes a change's old deploy script as
`<change>@<tag>.sql`, and sqitch replays that frozen script whenever it
deploys the old version again. If deploy scripts pulled function bodies in
with psql's `\\i`, a frozen script would silently load today's body instead of
the one it shipped with. So every deploy script is self-contained and carries
its own copy between markers:

    -- begin db/functions/<name>.sql (copied by db/sync_functions.py; edit that file, then run it)
    ...exact contents of db/functions/<name>.sql...
    -- end db/functions/<name>.sql

db/functions/ is where a function's source is edited. This tool rewrites
the blocks of every current deploy script (db/deploy/**/*.sql without `@` in
the file name); frozen scripts are never written. A source that no current
script includes any more (its change was reworked without it) must still
equal its copy in the frozen script that has it: it can only change through
another rework that includes it.

    python db/sync_functions.py           rewrite drifted blocks
    python db/sync_functions.py --check   change nothing; report drift, exit 1 if any

Both modes also report, as errors: a marker naming a missing file, a block
without its end marker, and a db/functions/ file no current script includes.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN = re.compile(r"^-- begin (db/functions/\S+\.sql)(?:\s|$)")
MAX_DIFF_LINES = 40


@dataclass
class Block:
    source: str  # path relative to the root, e.g. "db/functions/foo.sql"
    line: int  # 1-based line number of the begin marker
    body: str


def end_marker(source: str) -> str:
    return f"-- end {source}"


def find_end(lines: list[str], start: int, source: str) -> int | None:
    """Index of the block's end marker, or None if another block or EOF comes first."""
    for index in range(start, len(lines)):
        if lines[index].rstrip() == end_marker(source):
            return index
        if BEGIN.match(lines[index]):
            return None
    return None


def parse(text: str) -> tuple[list[str | Block], str | None]:
    """Split a script into plain text (markers included) and blocks.

    Returns (parts, error); on an unterminated block, parts is incomplete.
    """
    lines = text.splitlines(keepends=True)
    parts: list[str | Block] = []
    plain: list[str] = []
    index = 0
    while index < len(lines):
        match = BEGIN.match(lines[index])
        if not match:
            plain.append(lines[index])
            index += 1
            continue
        source = match.group(1)
        end = find_end(lines, index + 1, source)
        if end is None:
            return parts, f"{index + 1}: block {source} has no '{end_marker(source)}' line"
        parts.append("".join(plain + [lines[index]]))
        parts.append(Block(source, index + 1, "".join(lines[index + 1 : end])))
        plain = [lines[end]]
        index = end + 1
    parts.append("".join(plain))
    return parts, None


def render(parts: list[str | Block]) -> str:
    return "".join(part if isinstance(part, str) else part.body for part in parts)


def wanted_body(path: Path) -> str:
    text = path.read_text()
    # The end marker must stay on a line of its own.
    return text if text.endswith("\n") or not text else text + "\n"


def short_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    diff = list(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name, n=2
        )
    )
    if len(diff) > MAX_DIFF_LINES:
        diff = diff[:MAX_DIFF_LINES] + [f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def current_deploy_scripts(root: Path) -> list[Path]:
    deploy = root / "db" / "deploy"
    return sorted(p for p in deploy.rglob("*.sql") if "@" not in p.name)


def frozen_blocks(root: Path) -> dict[str, list[tuple[str, Block]]]:
    """Blocks of the frozen (reworked) deploy scripts, by source: [(script, block), ...]."""
    found: dict[str, list[tuple[str, Block]]] = {}
    for script in sorted((root / "db" / "deploy").rglob("*@*.sql")):
        parts, _ = parse(script.read_text())
        for part in parts:
            if isinstance(part, Block):
                found.setdefault(part.source, []).append((script.relative_to(root).as_posix(), part))
    return found


def function_files(root: Path) -> set[str]:
    functions = root / "db" / "functions"
    return {p.relative_to(root).as_posix() for p in functions.rglob("*.sql")}


class Report:
    def __init__(self) -> None:
        self.errors = 0
        self.blocks = 0
        self.drifted = 0
        self.updated = 0

    def error(self, message: str) -> None:
        self.errors += 1
        print(f"error: {message}")


def sync_script(root: Path, script: Path, check: bool, report: Report) -> set[str]:
    """Check or rewrite one deploy script; returns the function files it includes."""
    rel = script.relative_to(root).as_posix()
    parts, parse_error = parse(script.read_text())
    if parse_error:
        report.error(f"{rel}:{parse_error}")
    rewrite = not check and not parse_error  # never rewrite a script we could not parse
    blocks = [part for part in parts if isinstance(part, Block)]
    for block in blocks:
        report.blocks += 1
        source = root / block.source
        if not source.is_file():
            report.error(f"{rel}:{block.line}: block names {block.source}, which does not exist")
            continue
        want = wanted_body(source)
        if block.body == want:
            continue
        report.drifted += 1
        if rewrite:
            report.updated += 1
            print(f"updated: {rel}:{block.line}: block {block.source}")
        else:
            print(f"drift: {rel}:{block.line}: block {block.source} differs from that file")
            print(short_diff(block.body, want, f"{rel} (block)", block.source), end="")
        block.body = want
    if rewrite and report.updated:
        new_text = render(parts)
        if new_text != script.read_text():
            script.write_text(new_text)
    return {block.source for block in blocks}


def run(root: Path, check: bool) -> int:
    report = Report()
    scripts = current_deploy_scripts(root)
    included: set[str] = set()
    for script in scripts:
        included |= sync_script(root, script, check, report)
    frozen = frozen_blocks(root)
    for orphan in sorted(function_files(root) - included):
        copies = frozen.get(orphan)
        if not copies:
            report.error(f"{orphan} is not copied into any current deploy script")
        elif all(block.body != wanted_body(root / orphan) for _, block in copies):
            script, block = copies[-1]
            report.error(f"{orphan} was edited, but only frozen scripts hold it ({script}): "
                         "add it to a rework of its change")
            print(short_diff(block.body, wanted_body(root / orphan), f"{script} (block)", orphan), end="")
    print(
        f"{report.blocks} function blocks in {len(scripts)} current deploy scripts: "
        f"{report.drifted} out of date, {report.updated} updated, {report.errors} errors"
    )
    return 1 if report.errors or report.drifted > report.updated else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="project root holding db/ (default: this file's project)",
    )
    args = parser.parse_args(argv)
    return run(args.root.resolve(), args.check)


if __name__ == "__main__":
    sys.exit(main())
