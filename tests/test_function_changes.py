"""One sqitch change per SQL function: the repository's scripts are what the tool writes, and the
tool adds, writes again and reworks changes that real sqitch deploys and reverts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support import databases

ROOT = databases.REPO_ROOT
PLANNER = "agentledger maintainers <maintainers@agentledger.invalid>"

ADD = """CREATE OR REPLACE FUNCTION api.add(a integer, b integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
COMMENT ON FUNCTION api.add(integer, integer) IS 'The sum.';
"""
ADD_TWICE = ADD.replace("SELECT a + b", "SELECT 2 * (a + b)")
ADD_BIGINT = """CREATE OR REPLACE FUNCTION api.add(a bigint, b bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT a + b + 1 $$;
COMMENT ON FUNCTION api.add(bigint, bigint) IS 'The sum, in bigint.';
"""
SCHEMA_DEPLOY = """BEGIN;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agentledger_owner') THEN
        CREATE ROLE agentledger_owner NOLOGIN;
    END IF;
END $$;
CREATE SCHEMA api AUTHORIZATION agentledger_owner;
COMMIT;
"""


def tool(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("agentledger")), "db", "functions", *args, "--project-dir", str(project)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def sqitch(project: Path, db: str, *args: str) -> None:
    command, *rest = args
    result = subprocess.run(
        ["sqitch", command, "--target", databases.sqitch_target(databases.dbname(db)), *rest],
        cwd=project,
        env=databases.client_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, databases.describe(result)


def source_of_add(db: str) -> list[tuple[str, str]]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            "SELECT oid::regprocedure::text, prosrc FROM pg_proc WHERE proname = 'add' ORDER BY 1"
        ).fetchall()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one plain change (the api schema) and the source of api.add, not yet planned."""
    (tmp_path / "sqitch.conf").write_text("[core]\n\tengine = pg\n\ttop_dir = db\n\tplan_file = sqitch.plan\n")
    (tmp_path / "sqitch.plan").write_text(
        f"%syntax-version=1.0.0\n%project=agentledger\n\nschema 2026-01-01T00:00:00Z {PLANNER} # The api schema\n"
    )
    for kind, text in (
        ("deploy", SCHEMA_DEPLOY),
        ("revert", "DROP SCHEMA api;\n"),
        ("verify", "SELECT 'api'::regnamespace;\n"),
    ):
        (tmp_path / "db" / kind).mkdir(parents=True)
        (tmp_path / "db" / kind / "schema.sql").write_text(text)
    (tmp_path / "db" / "functions").mkdir()
    (tmp_path / "db" / "functions" / "add.sql").write_text(ADD)
    return tmp_path


def tag(project: Path, name: str) -> None:
    with (project / "sqitch.plan").open("a") as plan:
        plan.write(f"@{name} 2026-01-02T00:00:00Z {PLANNER} # release {name}\n")


def test_every_function_of_the_repository_has_its_change_and_the_scripts_the_tool_writes():
    result = tool(ROOT, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    sources = sorted(p.stem for p in (ROOT / "db" / "functions").glob("*.sql"))
    assert all((ROOT / "db" / "deploy" / "functions" / f"{name}.sql").exists() for name in sources)


def test_a_new_function_gets_a_change_that_creates_it_and_whose_revert_drops_it(project, empty_db):
    refused = tool(project, "sync")
    assert refused.returncode == 2 and "give a note (-n)" in refused.stderr

    added = tool(project, "sync", "-n", "Adds add", "-r", "schema")
    assert added.returncode == 0, added.stderr
    assert "add: functions/add" in added.stdout
    assert (project / "sqitch.plan").read_text().splitlines()[-1].startswith("functions/add [schema] ")
    assert "DROP FUNCTION api.add(integer, integer);" in (project / "db/revert/functions/add.sql").read_text()
    assert tool(project, "check").returncode == 0

    sqitch(project, empty_db, "deploy", "--verify")
    assert source_of_add(empty_db) == [("api.add(integer,integer)", " SELECT a + b ")]
    sqitch(project, empty_db, "revert", "-y", "--to", "schema")
    assert source_of_add(empty_db) == []


def test_an_untagged_change_gets_its_scripts_written_again(project):
    assert tool(project, "sync", "-n", "Adds add").returncode == 0
    plan = (project / "sqitch.plan").read_text()
    (project / "db/functions/add.sql").write_text(ADD_TWICE)

    check = tool(project, "check")
    assert check.returncode == 1 and "write: functions/add: deploy out of date" in check.stdout
    assert "SELECT a + b " in (project / "db/deploy/functions/add.sql").read_text(), "check writes nothing"

    assert tool(project, "sync").returncode == 0, "no note is needed: the plan does not change"
    assert (project / "sqitch.plan").read_text() == plan
    assert "2 * (a + b)" in (project / "db/deploy/functions/add.sql").read_text()
    assert tool(project, "check").returncode == 0


def test_a_tagged_change_keeps_its_scripts_while_its_source_keeps_its_body(project):
    assert tool(project, "sync", "-n", "Adds add").returncode == 0
    tag(project, "v1")
    deploy = project / "db/deploy/functions/add.sql"
    deploy.write_text(deploy.read_text().replace("-- Written by", "-- Once written by"))

    assert tool(project, "check").returncode == 0, "a landed script is never written again"
    assert tool(project, "sync").returncode == 0
    assert "-- Once written by" in deploy.read_text()


def test_a_tagged_change_is_reworked_and_its_revert_puts_back_the_frozen_body(project, empty_db):
    assert tool(project, "sync", "-n", "Adds add").returncode == 0
    tag(project, "v1")
    first_deploy = (project / "db/deploy/functions/add.sql").read_text()
    (project / "db/functions/add.sql").write_text(ADD_TWICE)
    assert "rework: db/functions/add.sql changed since functions/add was tagged" in tool(project, "check").stdout

    assert tool(project, "sync", "-n", "Adds twice").returncode == 0
    assert (project / "db/deploy/functions/add@v1.sql").read_text() == first_deploy
    assert (project / "sqitch.plan").read_text().splitlines()[-1].startswith("functions/add [functions/add@v1] ")
    revert = (project / "db/revert/functions/add.sql").read_text()
    assert "SELECT a + b " in revert and "DROP" not in revert
    assert tool(project, "check").returncode == 0

    sqitch(project, empty_db, "deploy", "--verify")
    assert source_of_add(empty_db) == [("api.add(integer,integer)", " SELECT 2 * (a + b) ")]
    sqitch(project, empty_db, "revert", "-y", "--to", "@v1")
    assert source_of_add(empty_db) == [("api.add(integer,integer)", " SELECT a + b ")]
    sqitch(project, empty_db, "deploy")
    assert source_of_add(empty_db) == [("api.add(integer,integer)", " SELECT 2 * (a + b) ")]


def test_a_rework_that_changes_the_signature_drops_the_old_one_and_its_revert_the_new(project, empty_db):
    assert tool(project, "sync", "-n", "Adds add").returncode == 0
    tag(project, "v1")
    (project / "db/functions/add.sql").write_text(ADD_BIGINT)
    assert tool(project, "sync", "-n", "Adds in bigint").returncode == 0
    assert "DROP FUNCTION api.add(integer, integer);" in (project / "db/deploy/functions/add.sql").read_text()
    assert "DROP FUNCTION api.add(bigint, bigint);" in (project / "db/revert/functions/add.sql").read_text()

    sqitch(project, empty_db, "deploy", "--verify")
    assert source_of_add(empty_db) == [("api.add(bigint,bigint)", " SELECT a + b + 1 ")]
    sqitch(project, empty_db, "revert", "-y", "--to", "@v1")
    assert source_of_add(empty_db) == [("api.add(integer,integer)", " SELECT a + b ")]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (ADD.replace("api.add(a", "api.sum(a"), "exactly one CREATE OR REPLACE FUNCTION <schema>.add(...)"),
        (ADD + ADD, "exactly one CREATE OR REPLACE FUNCTION"),
        (ADD.replace("CREATE OR REPLACE", "CREATE"), "exactly one CREATE OR REPLACE FUNCTION"),
        (
            ADD.replace("COMMENT ON FUNCTION api.add", "COMMENT ON FUNCTION api.other"),
            "exactly one COMMENT ON FUNCTION",
        ),
    ],
    ids=["other name", "two functions", "plain CREATE", "comment of another"],
)
def test_a_source_must_define_the_one_function_its_file_is_named_for(project, text, complaint):
    (project / "db/functions/add.sql").write_text(text)
    result = tool(project, "check")
    assert result.returncode == 2
    assert complaint in result.stderr and "db/functions/add.sql" in result.stderr
