"""The error-code table of docs/errors.md is the one catalogue: it must list exactly the codes the SQL raises."""

from __future__ import annotations

import re

from tests.support.databases import REPO_ROOT


def raised_codes() -> set[str]:
    sources = (REPO_ROOT / "db" / "functions").glob("*.sql")
    return {code for f in sources for code in re.findall(r"ERRCODE = '(AL\d{3})'", f.read_text())}


def documented_codes() -> list[str]:
    catalogue = (REPO_ROOT / "docs" / "errors.md").read_text()
    return re.findall(r"^\| `(AL\d{3})` \|", catalogue, flags=re.MULTILINE)


def test_the_catalogue_documents_every_raised_code_once() -> None:
    documented = documented_codes()
    assert len(documented) == len(set(documented)), "each code appears once"
    assert set(documented) == raised_codes()


def test_raised_codes_are_found_at_all() -> None:
    assert {"AL001", "AL003", "AL011"} <= raised_codes()
