"""The error-code table of docs/errors.md is the one catalogue: it must list exactly the project codes the
SQL raises, every standard code it raises by name, and every constraint of the value domains."""

from __future__ import annotations

import re

from tests.support.databases import REPO_ROOT


def raised_codes() -> set[str]:
    sources = (REPO_ROOT / "db" / "functions").glob("*.sql")
    return {code for f in sources for code in re.findall(r"ERRCODE = '([0-9A-Z]{5})'", f.read_text())}


def documented_codes() -> list[str]:
    catalogue = (REPO_ROOT / "docs" / "errors.md").read_text()
    return re.findall(r"^\| `([0-9A-Z]{5})` \|", catalogue, flags=re.MULTILINE)


def test_the_catalogue_documents_every_raised_code_once() -> None:
    documented = documented_codes()
    assert len(documented) == len(set(documented)), "each code appears once"
    raised = raised_codes()
    assert {c for c in documented if c.startswith("AL")} == {c for c in raised if c.startswith("AL")}
    assert raised <= set(documented), "a standard code the SQL raises by name is documented too"


def test_the_catalogue_names_every_domain_constraint() -> None:
    domains = (REPO_ROOT / "db" / "deploy" / "types" / "domains.sql").read_text()
    constraints = re.findall(r"CONSTRAINT (\w+) CHECK", domains)
    row = re.search(r"^\| `23514` \|.*$", (REPO_ROOT / "docs" / "errors.md").read_text(), flags=re.MULTILINE)
    assert constraints and row
    assert [name for name in constraints if f"`{name}`" not in row.group(0)] == []


def test_raised_codes_are_found_at_all() -> None:
    assert {"AL001", "AL003", "AL011"} <= raised_codes()
