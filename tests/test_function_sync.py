"""db/sync_functions.py: the repository has no drift, and the tool finds and fixes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "db" / "sync_functions.py"


def run_tool(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def block(source: str, body: str) -> str:
    return f"-- begin {source} (copied by db/sync_functions.py; edit that file, then run it)\n{body}-- end {source}\n"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


ADD_V1 = "CREATE FUNCTION api.add(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT a + b $$;\n"
ADD_V2 = ADD_V1.replace("a + b", "b + a")
NOW_FN = "CREATE FUNCTION api.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() $$;\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tree in sync: one deploy script holding two blocks between other SQL."""
    write(tmp_path, "db/functions/add.sql", ADD_V1)
    write(tmp_path, "db/functions/now.sql", NOW_FN)
    write(
        tmp_path,
        "db/deploy/api.sql",
        "BEGIN;\n\n"
        + block("db/functions/add.sql", ADD_V1)
        + "\nGRANT USAGE ON SCHEMA api TO PUBLIC;\n\n"
        + block("db/functions/now.sql", NOW_FN)
        + "\nCOMMIT;\n",
    )
    return tmp_path


def test_repository_has_no_function_drift():
    result = run_tool(ROOT, "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_passes_when_in_sync(project: Path):
    result = run_tool(project, "--check")
    assert result.returncode == 0, result.stdout
    assert "2 function blocks in 1 current deploy scripts" in result.stdout


def test_check_reports_drift_and_changes_nothing(project: Path):
    write(project, "db/functions/add.sql", ADD_V2)
    before = (project / "db/deploy/api.sql").read_text()

    result = run_tool(project, "--check")

    assert result.returncode == 1
    assert "drift: db/deploy/api.sql:3: block db/functions/add.sql" in result.stdout
    assert "-" + ADD_V1 in result.stdout
    assert "+" + ADD_V2 in result.stdout
    assert "now.sql" not in result.stdout.split("function blocks")[0]
    assert (project / "db/deploy/api.sql").read_text() == before


def test_rewrite_fixes_drift_and_keeps_surrounding_sql(project: Path):
    write(project, "db/functions/add.sql", ADD_V2)
    expected = (project / "db/deploy/api.sql").read_text().replace(ADD_V1, ADD_V2)

    result = run_tool(project)

    assert result.returncode == 0, result.stdout
    assert "updated: db/deploy/api.sql:3: block db/functions/add.sql" in result.stdout
    assert (project / "db/deploy/api.sql").read_text() == expected
    assert run_tool(project, "--check").returncode == 0


def test_frozen_rework_scripts_are_never_touched(project: Path):
    frozen_text = block("db/functions/add.sql", ADD_V1)
    frozen = write(project, "db/deploy/api@v1.0.sql", frozen_text)
    current = block("db/functions/add.sql", ADD_V2) + block("db/functions/now.sql", NOW_FN)
    write(project, "db/deploy/api.sql", current)
    write(project, "db/functions/add.sql", ADD_V2)

    assert run_tool(project, "--check").returncode == 0
    assert run_tool(project).returncode == 0
    assert frozen.read_text() == frozen_text


def test_missing_function_file_is_reported(project: Path):
    (project / "db/functions/now.sql").unlink()

    result = run_tool(project, "--check")

    assert result.returncode == 1
    assert "error: db/deploy/api.sql:" in result.stdout
    assert "db/functions/now.sql, which does not exist" in result.stdout


def test_orphan_function_file_is_reported(project: Path):
    write(project, "db/functions/unused.sql", "SELECT 1;\n")

    result = run_tool(project, "--check")

    assert result.returncode == 1
    assert "error: db/functions/unused.sql is not copied into any current deploy script" in result.stdout


def test_unterminated_block_is_reported_and_not_rewritten(project: Path):
    broken = block("db/functions/add.sql", ADD_V1).replace("-- end db/functions/add.sql\n", "")
    script = write(project, "db/deploy/api.sql", broken + block("db/functions/now.sql", NOW_FN))
    write(project, "db/functions/add.sql", ADD_V2)

    result = run_tool(project)

    assert result.returncode == 1
    assert "error: db/deploy/api.sql:1: block db/functions/add.sql has no" in result.stdout
    assert script.read_text() == broken + block("db/functions/now.sql", NOW_FN)


def test_function_without_trailing_newline_keeps_end_marker_on_its_own_line(project: Path):
    write(project, "db/functions/add.sql", ADD_V2.rstrip("\n"))

    assert run_tool(project).returncode == 0
    assert "$$;\n-- end db/functions/add.sql\n" in (project / "db/deploy/api.sql").read_text()
    assert run_tool(project, "--check").returncode == 0


def test_a_source_left_out_of_a_rework_must_keep_its_frozen_text(project: Path):
    # The rework of api.sql carries only add.sql; now.sql lives on in the frozen script alone.
    write(
        project, "db/deploy/api@v1.0.sql", block("db/functions/add.sql", ADD_V1) + block("db/functions/now.sql", NOW_FN)
    )
    write(project, "db/deploy/api.sql", block("db/functions/add.sql", ADD_V2))
    write(project, "db/functions/add.sql", ADD_V2)
    assert run_tool(project, "--check").returncode == 0, "unchanged, it needs no current script"

    write(project, "db/functions/now.sql", NOW_FN.replace("now()", "clock_timestamp()"))
    result = run_tool(project, "--check")
    assert result.returncode == 1
    assert "db/functions/now.sql was edited, but only frozen scripts hold it (db/deploy/api@v1.0.sql)" in result.stdout
