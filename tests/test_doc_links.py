"""Every relative link of the documentation leads somewhere: the file exists and, for a link with
an #anchor into a Markdown file, that file has a heading with that anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.docs import anchors, doc_files, relative

LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def relative_links(path: Path) -> list[str]:
    targets = LINK.findall(without_code_blocks(path.read_text()))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]  # not http:, https:, mailto: ...


def test_the_documentation_has_links_to_check() -> None:
    assert sum(len(relative_links(path)) for path in doc_files()) > 50


@pytest.mark.parametrize("path", doc_files(), ids=relative)
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            broken.append(f"{target}: no file {destination}")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination.read_text()):
            broken.append(f"{target}: no heading with the anchor #{fragment} in {relative(destination)}")
    assert not broken, "\n".join(broken)
