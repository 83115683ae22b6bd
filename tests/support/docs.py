"""The documentation as the tests read it: README.md, docs/*.md, bench/README.md and CHANGELOG.md.

Tests that run a block of the documentation name the section that holds it, not the file: a
section title is looked up in every documentation file and must be found exactly once, so moving
a section to another page keeps its test, and a title used twice is an error, not a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.databases import REPO_ROOT


def doc_files() -> list[Path]:
    """README.md, then docs/*.md in name order, then bench/README.md and CHANGELOG.md."""
    return [
        REPO_ROOT / "README.md",
        *sorted((REPO_ROOT / "docs").glob("*.md")),
        REPO_ROOT / "bench" / "README.md",
        REPO_ROOT / "CHANGELOG.md",
    ]


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int  # index of the heading's line in the file


FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#* *$")


def headings(text: str) -> list[Heading]:
    """The Markdown headings of text, skipping lines inside fenced code blocks."""
    found, fenced = [], False
    for number, line in enumerate(text.splitlines()):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append(Heading(len(match.group(1)), match.group(2), number))
    return found


def section(title: str) -> str:
    """The text under the one heading called `title` in all the documentation, up to the next
    heading of any level (or the end of its file)."""
    hits = []
    for path in doc_files():
        text = path.read_text()
        marks = headings(text)
        for i, heading in enumerate(marks):
            if heading.title == title:
                lines = text.splitlines(keepends=True)
                end = marks[i + 1].line if i + 1 < len(marks) else len(lines)
                hits.append((relative(path), "".join(lines[heading.line + 1 : end])))
    assert len(hits) == 1, f"exactly one section of the documentation is called {title!r}: {[f for f, _ in hits]}"
    return hits[0][1]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def sh_blocks() -> list[tuple[str, str, str]]:
    """(file, nearest heading, block text) of every ```sh block of the documentation, in order."""
    blocks = []
    for path in doc_files():
        heading, block, fenced = "", None, False
        for line in path.read_text().splitlines(keepends=True):
            if block is not None:
                if line.startswith("```"):
                    blocks.append((relative(path), heading, "".join(block)))
                    block, fenced = None, False
                else:
                    block.append(line)
            elif FENCE.match(line):
                if line.rstrip() == "```sh" and not fenced:
                    block = []
                else:
                    fenced = not fenced
            elif not fenced and (match := HEADING.match(line)):
                heading = match.group(2)
    return blocks


def anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", title).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of text's headings, with GitHub's -1, -2 ... for repeated ones."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(text):
        slug = anchor(heading.title)
        if slug in seen:
            seen[slug] += 1
            result.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            result.add(slug)
    return result
