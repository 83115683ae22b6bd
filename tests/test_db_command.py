"""`agentledger db` deploys the sqitch plan and keeps sqitch's own registry.

Every test runs the real command line and the real sqitch against real databases,
and checks what sqitch makes of the registry agentledger wrote: the two tools must
be interchangeable on one database at any point.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from agentledger.errors import ScriptError
from agentledger.sqitch.project import Project
from agentledger.sqitch.scripts import load_script
from tests.support import databases
from tests.support.databases import REPO_ROOT, dbname, describe, run_sqitch

MIDDLE = "tables/events"
FIRST_AFTER_MIDDLE = "tables/audit"
LAST = "functions/audit_feed"

# Registry contents that do not depend on when or by whom a change was deployed.
REGISTRY_QUERIES = {
    "releases": "SELECT version FROM sqitch.releases",
    "projects": "SELECT project, uri FROM sqitch.projects",
    "changes": """SELECT change_id, script_hash, change, project, note, planned_at,
                         planner_name, planner_email
                    FROM sqitch.changes ORDER BY committed_at""",
    "dependencies": """SELECT change_id, type, dependency, dependency_id
                         FROM sqitch.dependencies ORDER BY change_id, dependency""",
    "tags": """SELECT tag_id, tag, project, change_id, note, planned_at, planner_name, planner_email
                 FROM sqitch.tags ORDER BY tag""",
    "events": """SELECT event, change_id, change, project, note, requires, conflicts, tags,
                        planned_at, planner_name, planner_email
                   FROM sqitch.events ORDER BY committed_at""",
}


# -- running the tools ------------------------------------------------------


def agentledger(args: list[str], dsn: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m agentledger ...` with DATABASE_URL set to dsn (or unset)."""
    env = databases.client_env()
    env.pop("DATABASE_URL", None)
    if dsn is not None:
        env["DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "agentledger", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def sqitch_in(project: Path, args: list[str], db_name: str) -> subprocess.CompletedProcess[str]:
    """sqitch run from another project directory (run_sqitch uses the repository's)."""
    command, *rest = args
    return subprocess.run(
        ["sqitch", command, "--target", databases.sqitch_target(db_name), *rest],
        cwd=project,
        env=databases.client_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        pytest.fail(describe(result), pytrace=False)
    return result


def assert_up_to_date(result: subprocess.CompletedProcess[str]) -> None:
    """`sqitch status` or `sqitch deploy` found nothing left to deploy."""
    assert result.returncode == 0, describe(result)
    assert "Nothing to deploy (up-to-date)" in result.stdout, describe(result)


def assert_nothing_deployed(result: subprocess.CompletedProcess[str]) -> None:
    """`sqitch status` on a database whose registry holds no change of the project."""
    assert result.returncode == 1, describe(result)
    assert "No changes deployed" in result.stdout + result.stderr, describe(result)


# -- reading databases ------------------------------------------------------


def registry(dsn: str) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(query).fetchall() for name, query in REGISTRY_QUERIES.items()}


def registry_ddl(db_name: str) -> str:
    result = subprocess.run(
        [
            "pg_dump",
            "--host",
            databases.HOST,
            "--port",
            databases.PORT,
            "--username",
            databases.USER,
            "--schema-only",
            "--no-comments",
            "--schema",
            "sqitch",
            db_name,
        ],
        env=databases.client_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    # The tables are the interface sqitch relies on; the comments are each tool's own words.
    # Newer pg_dump brackets its output with a random \restrict key.
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def scalar(dsn: str, query: str):
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


@pytest.fixture
def second_db() -> Iterator[str]:
    """Another empty database, for the same steps done by sqitch alone."""
    with databases.scratch_database() as conninfo:
        yield conninfo


# -- projects on disk -------------------------------------------------------


def copy_project(target: Path) -> Path:
    shutil.copy(REPO_ROOT / "sqitch.conf", target / "sqitch.conf")
    shutil.copy(REPO_ROOT / "sqitch.plan", target / "sqitch.plan")
    for kind in ("deploy", "revert", "verify"):
        shutil.copytree(REPO_ROOT / "db" / kind, target / "db" / kind)
    return target


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# A plan using what ours does not yet: a project URI, tags, a reworked change,
# a conflict with another project's change, escapes and non-ASCII in a note, a
# planner name ending in a space; scripts using psql includes and the
# :registry variable sqitch sets.
SYNTH_PROJECT = {
    "sqitch.conf": "[core]\n\tengine = pg\n",
    "sqitch.plan": (
        "%syntax-version=1.0.0\n"
        "%project=synth\n"
        "%uri=https://Example.COM/synth\n"
        "\n"
        "first 2024-01-01T00:00:00Z Ann Planner <ann@example.com> # Line one\\nline two: ünïcode \\\\ done\n"
        "second [first] 2024-01-02T00:00:00Z Ann Planner <ann@example.com>\n"
        "@v1.0 2024-01-03T00:00:00Z Ann Planner <ann@example.com> # first release\n"
        "third [second !other:gone] 2024-01-04T00:00:00Z Bob  <bob@example.com> # third\n"
        "first [first@v1.0] 2024-01-05T00:00:00Z Ann Planner <ann@example.com> # rework first\n"
        "@v1.1 2024-01-06T00:00:00Z Ann Planner <ann@example.com>\n"
    ),
    "deploy/first@v1.0.sql": "BEGIN;\nCREATE TABLE synth_first (id int);\nCOMMIT;\n",
    "revert/first@v1.0.sql": "BEGIN;\nDROP TABLE synth_first;\nCOMMIT;\n",
    "verify/first@v1.0.sql": "SELECT id FROM synth_first WHERE false;\n",
    "deploy/first.sql": "BEGIN;\nCOMMENT ON TABLE synth_first IS 'v2';\nCOMMIT;\n",
    "revert/first.sql": "BEGIN;\nCOMMENT ON TABLE synth_first IS NULL;\nCOMMIT;\n",
    "verify/first.sql": ("DO $$ BEGIN ASSERT obj_description('synth_first'::regclass) = 'v2'; END $$;\n"),
    "deploy/second.sql": ("BEGIN;\n\\ir ../shared/second_body.sql\n\\i shared/second_more.sql\nCOMMIT;\n"),
    "shared/second_body.sql": (
        "-- a backslash in a comment is no meta-command: \\set\n"
        "CREATE TABLE synth_second (note text DEFAULT E'it\\'s \\\\n');\n"
    ),
    "shared/second_more.sql": "INSERT INTO synth_second VALUES ('\\set is text here');\n",
    "revert/second.sql": "BEGIN;\nDROP TABLE synth_second;\nCOMMIT;\n",
    "verify/second.sql": "SELECT note FROM synth_second WHERE note = '\\set is text here';\n",
    "deploy/third.sql": (
        "BEGIN;\nCREATE TABLE synth_third AS SELECT :'registry'::text AS registry_name,\n"
        '    (SELECT count(*) FROM :"registry".changes) AS deployed_before;\nCOMMIT;\n'
    ),
    "revert/third.sql": "BEGIN;\nDROP TABLE synth_third;\nCOMMIT;\n",
    "verify/third.sql": ("DO $$ BEGIN ASSERT (SELECT registry_name FROM synth_third) = 'sqitch'; END $$;\n"),
}


# -- the tests --------------------------------------------------------------


def test_deploy_writes_the_registry_sqitch_writes(empty_db: str, second_db: str):
    ours, theirs = dbname(empty_db), dbname(second_db)

    deployed = ok(agentledger(["db", "deploy"], empty_db))
    assert f"+ {MIDDLE} " in deployed.stdout and deployed.stdout.rstrip().endswith("ok")
    ok(run_sqitch(["deploy"], theirs))

    assert_up_to_date(run_sqitch(["status"], ours))
    assert_up_to_date(run_sqitch(["deploy"], ours))
    ok(run_sqitch(["verify"], ours))

    assert registry(empty_db) == registry(second_db)
    assert registry_ddl(ours) == registry_ddl(theirs)

    ok(run_sqitch(["revert", "-y"], ours))
    assert_nothing_deployed(run_sqitch(["status"], ours))


def test_deploy_finishes_what_sqitch_started(empty_db: str):
    db_name = dbname(empty_db)
    ok(run_sqitch(["deploy", "--to", MIDDLE], db_name))

    result = ok(agentledger(["db", "deploy"], empty_db))
    assert f"+ {FIRST_AFTER_MIDDLE} " in result.stdout
    assert "+ roles " not in result.stdout and f"+ {MIDDLE} " not in result.stdout
    assert_up_to_date(run_sqitch(["status"], db_name))
    assert "Nothing to deploy (up-to-date)" in ok(agentledger(["db", "deploy"], empty_db)).stdout


def test_revert_records_what_sqitch_records(empty_db: str, second_db: str):
    ours, theirs = dbname(empty_db), dbname(second_db)
    ok(agentledger(["db", "deploy"], empty_db))
    ok(run_sqitch(["deploy"], theirs))

    reverted = ok(agentledger(["db", "revert", "--to", MIDDLE, "-y"], empty_db))
    assert f"- {FIRST_AFTER_MIDDLE} " in reverted.stdout and f"- {MIDDLE} " not in reverted.stdout
    ok(run_sqitch(["revert", "--to", MIDDLE, "-y"], theirs))
    assert registry(empty_db) == registry(second_db)

    status = ok(run_sqitch(["status"], ours))
    assert f"Name:     {MIDDLE}" in status.stdout and f"* {FIRST_AFTER_MIDDLE}" in status.stdout
    redeployed = ok(run_sqitch(["deploy"], ours))
    assert f"+ {FIRST_AFTER_MIDDLE} " in redeployed.stdout

    ok(agentledger(["db", "revert", "-y"], empty_db))
    assert_nothing_deployed(run_sqitch(["status"], ours))
    assert scalar(empty_db, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('ledger', 'api')") == 0

    ok(agentledger(["db", "deploy"], empty_db))
    ok(agentledger(["db", "verify"], empty_db))
    assert_up_to_date(run_sqitch(["status"], ours))


def test_revert_needs_confirmation_without_a_terminal(empty_db: str):
    ok(agentledger(["db", "deploy", "--to", "schemas"], empty_db))
    result = agentledger(["db", "revert"], empty_db)
    assert result.returncode == 2, describe(result)
    assert "-y" in result.stderr
    assert "Undeployed changes" in ok(agentledger(["db", "status"], empty_db)).stdout


def test_verify_reports_each_change_and_names_the_failing_one(empty_db: str):
    ok(agentledger(["db", "deploy"], empty_db))
    result = ok(agentledger(["db", "verify"], empty_db))
    assert f"* {LAST} " in result.stdout and "Verify successful" in result.stdout

    databases.execute(empty_db, "DROP FUNCTION api.queue_stats(timestamptz)")
    result = agentledger(["db", "verify"], empty_db)
    assert result.returncode == 1, describe(result)
    failing = [line for line in result.stdout.splitlines() if line.endswith("not ok")]
    # The function's own change and the change that first created it, in a group, both verify it.
    assert [line.split()[1] for line in failing] == ["functions/stats", "functions/queue_stats"], describe(result)
    assert "42883" in result.stdout and "Verify failed" in result.stderr


def test_status_on_empty_partial_and_full_databases(empty_db: str):
    empty = ok(agentledger(["db", "status"], empty_db)).stdout
    assert "No changes deployed" in empty
    assert "* roles" in empty and f"* {LAST}" in empty

    ok(agentledger(["db", "deploy", "--to", MIDDLE], empty_db))
    partial = ok(agentledger(["db", "status"], empty_db)).stdout
    assert f"# Name:     {MIDDLE}" in partial
    assert "+ roles" in partial and f"+ {MIDDLE}" in partial
    assert f"* {FIRST_AFTER_MIDDLE}" in partial and "* roles" not in partial
    sqitch_status = ok(run_sqitch(["status"], dbname(empty_db))).stdout
    assert f"Name:     {MIDDLE}" in sqitch_status and f"* {FIRST_AFTER_MIDDLE}" in sqitch_status

    ok(agentledger(["db", "deploy"], empty_db))
    full = ok(agentledger(["db", "status"], empty_db)).stdout
    assert f"+ {LAST}" in full and "Nothing to deploy (up-to-date)" in full


def test_failing_deploy_script(tmp_path: Path, empty_db: str, second_db: str):
    project = copy_project(tmp_path)
    (project / "db" / "deploy" / f"{FIRST_AFTER_MIDDLE}.sql").write_text(
        "BEGIN;\nSELECT 1;\nSELECT no_such_column\n  FROM ledger.events;\nCOMMIT;\n"
    )
    ours, theirs = dbname(empty_db), dbname(second_db)

    result = agentledger(["db", "deploy", "--project-dir", str(project)], empty_db)
    assert result.returncode == 1, describe(result)
    assert f"+ {FIRST_AFTER_MIDDLE} " in result.stdout and "not ok" in result.stdout
    assert "42703" in result.stderr and "no_such_column" in result.stderr
    assert f"db/deploy/{FIRST_AFTER_MIDDLE}.sql:3" in result.stderr
    assert "Reverting all changes" in result.stderr and f"- {MIDDLE} " in result.stdout

    # sqitch fails the same way and leaves the same history: a fail event, then reverts.
    assert sqitch_in(project, ["deploy"], theirs).returncode != 0
    assert registry(empty_db) == registry(second_db)
    assert ("fail", FIRST_AFTER_MIDDLE) in [(e[0], e[2]) for e in registry(empty_db)["events"]]
    assert_nothing_deployed(sqitch_in(project, ["status"], ours))

    # --mode change keeps what succeeded, as sqitch's does.
    result = agentledger(["db", "deploy", "--mode", "change", "--project-dir", str(project)], empty_db)
    assert result.returncode == 1, describe(result)
    status = ok(sqitch_in(project, ["status"], ours))
    assert f"Name:     {MIDDLE}" in status.stdout and f"* {FIRST_AFTER_MIDDLE}" in status.stdout


def test_plan_features_and_includes_match_sqitch(tmp_path: Path, empty_db: str, second_db: str):
    project = write(tmp_path, SYNTH_PROJECT)
    ours, theirs = dbname(empty_db), dbname(second_db)
    at_project = ["--project-dir", str(project)]

    deployed = ok(agentledger(["db", "deploy", *at_project], empty_db))
    assert "+ second @v1.0 " in deployed.stdout and "+ first @v1.1 " in deployed.stdout
    ok(sqitch_in(project, ["deploy"], theirs))
    assert registry(empty_db) == registry(second_db)
    assert_up_to_date(sqitch_in(project, ["status"], ours))
    ok(sqitch_in(project, ["verify"], ours))
    ok(agentledger(["db", "verify", *at_project], empty_db))
    assert scalar(empty_db, "SELECT registry_name || deployed_before FROM synth_third") == "sqitch2"

    ok(agentledger(["db", "revert", "--to", "@v1.0", "-y", *at_project], empty_db))
    ok(agentledger(["db", "revert", "-y", *at_project], empty_db))
    ok(sqitch_in(project, ["revert", "--to", "@v1.0", "-y"], theirs))
    ok(sqitch_in(project, ["revert", "-y"], theirs))
    assert registry(empty_db) == registry(second_db)
    assert scalar(empty_db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'synth%'") == 0


def test_unsupported_meta_command_is_refused_before_anything_runs(tmp_path: Path, empty_db: str):
    files = dict(SYNTH_PROJECT)
    files["deploy/third.sql"] = "BEGIN;\nCREATE TABLE synth_third (x int);\n\\set ON_ERROR_STOP 0\nCOMMIT;\n"
    project = write(tmp_path, files)

    result = agentledger(["db", "deploy", "--project-dir", str(project)], empty_db)
    assert result.returncode == 1, describe(result)
    assert "deploy/third.sql:3" in result.stderr and "\\set" in result.stderr
    assert scalar(empty_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'sqitch'") == 0


def test_missing_database_url_is_a_usage_error():
    result = agentledger(["db", "status"])
    assert result.returncode == 2, describe(result)
    assert "DATABASE_URL" in result.stderr and "--db-url" in result.stderr


# -- the script reader, in process -----------------------------------------


def load(tmp_path: Path, text: str, variables: dict[str, str] | None = None) -> str:
    path = tmp_path / "script.sql"
    path.write_text(text)
    return load_script(path, tmp_path, variables or {"registry": "sqitch"}).sql


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 'a\\b';",  # standard string: the backslash is a character
        "SELECT E'it\\'s \\\\i x';",  # escape string: \' does not end it
        "DO $body$ BEGIN PERFORM '\\d'; END $body$;",  # dollar quote
        "SELECT 1; -- \\i nowhere.sql\n/* \\set x /* nested */ \\g */",  # comments
        'SELECT 1 AS "\\x";',  # quoted identifier
        "SELECT a$b$c FROM t;",  # $ inside an identifier starts no dollar quote
    ],
)
def test_backslashes_inside_sql_text_are_not_meta_commands(tmp_path: Path, text: str):
    assert load(tmp_path, text) == text


def test_script_reader_substitutes_and_refuses_like_psql(tmp_path: Path):
    assert load(tmp_path, "SELECT x::text, :'registry', :\"registry\".t, :registry;") == (
        "SELECT x::text, 'sqitch', \"sqitch\".t, sqitch;"
    )
    assert load(tmp_path, "SELECT :unknown;") == "SELECT :unknown;"
    assert load(tmp_path, "SELECT 1\\; SELECT 2;") == "SELECT 1; SELECT 2;"
    with pytest.raises(ScriptError, match=r"script\.sql:2: psql meta-command \\gset"):
        load(tmp_path, "SELECT 'a\\';\nSELECT 1 AS x \\gset\n")
    (tmp_path / "a.sql").write_text("\\ir script.sql\n")
    with pytest.raises(ScriptError, match="include cycle"):
        load(tmp_path, "\\ir a.sql\n")


def test_error_lines_point_into_included_files(tmp_path: Path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "body.sql").write_text("SELECT 1;\n\nSELECT broken;\n")
    path = tmp_path / "main.sql"
    path.write_text("BEGIN;\n\\ir inc/body.sql\nCOMMIT;\n")
    script = load_script(path, tmp_path, {})
    assert script.sql == "BEGIN;\nSELECT 1;\n\nSELECT broken;\n\nCOMMIT;\n"
    position = script.sql.index("broken") + 1
    assert script.locate(position) == (tmp_path / "inc" / "body.sql", 3)
    assert script.locate(script.sql.index("COMMIT") + 1) == (path, 3)


def test_ids_match_the_registry_sqitch_wrote(deployed_template: str):
    """The shared template database was deployed by sqitch itself."""
    with psycopg.connect(databases.dsn(deployed_template)) as conn:
        deployed = dict(conn.execute("SELECT change, change_id FROM sqitch.changes").fetchall())
    assert deployed == {change.name: change.id for change in Project(REPO_ROOT).plan.changes}
