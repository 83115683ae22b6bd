"""Every ```sh block of the documentation runs (README.md, docs/*.md, bench/README.md), so it cannot
rot (tests/test_readme.py and others run the ```sql ones).

Each block is taken from its file at test time and run with bash (`set -euo pipefail`). Only what
must differ in a test is changed, through explicit (documented text, test text) replacements; each
documented text must still be found, so a change that breaks a command breaks its test. What changes:
- the database `agentledger` and the admin URL: a scratch database on the test server;
- port 8000 / 8080: a free port;
- `.venv/bin/pip install -e .`: replaced by a check that the repository's .venv has agentledger (it
  is installed already; the test installs nothing);
- commands that write files (the function changes tool, the schema snapshot) and `./run` (its
  `.agentledger/`) run in a copy of the checkout, so the working tree is never written to.
Long-running commands run in the background, are waited for on /readyz, are exercised with the curl
line the documentation (or `./run`) gives, and are stopped with SIGINT.

Not run (SKIPPED below says why): `./test` and `.ci/run` (they run this suite), and the benchmarks
(minutes), which run with `--help` only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support import databases
from tests.support.docs import sh_blocks
from tests.support.processes import copy_checkout, free_port

REPO = databases.REPO_ROOT
VENV = REPO / ".venv"

# Commands that are not run, with the reason; their blocks are still checked as described.
SKIPPED = {
    "./test": "runs the whole suite, this test included: checked to exist, be executable and be .ci/run's",
    "bench/*.py": "each runs for minutes: run with --help only",
}


def blocks_of(heading: str) -> list[str]:
    found = [(file, text) for file, title, text in sh_blocks() if title == heading]
    assert found, f"the documentation has ```sh blocks under '{heading}'"
    assert len({file for file, _ in found}) == 1, f"'{heading}' is a heading of one file: {found}"
    return [text for _, text in found]


# The benchmark pages: every line of their ```sh blocks is a benchmark command (see SKIPPED).
BENCHMARK_PAGES = ("docs/benchmarks.md", "bench/README.md")

# Every other sh block is covered by exactly one test below: (file, heading) -> how many blocks it has.
COVERED = {
    ("README.md", "Two commands"): 2,  # ./run; ./test
    ("README.md", "Walkthrough"): 2,  # run against ./run's server
    ("docs/http-api.md", "Running it"): 1,  # keys + serve + curl
    ("docs/operations.md", "`agentledger db`: deploying without sqitch"): 1,  # db commands
    ("docs/architecture.md", "Changing a SQL function"): 2,  # function changes; snapshot
    ("docs/worker-protocol.md", "Workers in Python"): 1,  # run by tests/test_worker_readme.py
    ("docs/operations.md", "Operator commands"): 1,  # run by tests/test_cli_events.py
    ("docs/operations.md", "Backups"): 1,  # run by tests/test_operations.py
    ("docs/operations.md", "Sealing and verifying"): 1,  # run by tests/test_audit_witness.py
}


def adapt(block: str, replacements: list[tuple[str, str]]) -> str:
    """block with each documented text replaced by its test text; every documented text must be there."""
    for old, new in replacements:
        assert old in block, f"the documented command changed: {old!r} is no longer in\n{block}"
        block = block.replace(old, new)
    return block


def run_sh(script: str, cwd: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """script under bash -euo pipefail, in its own process group (all of it is killed on a timeout)."""
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        raise AssertionError(f"timed out after {timeout} s:\n{script}\nstdout:\n{out}\nstderr:\n{err}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing it started in the background may outlive it
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(["bash", "-c", script], process.returncode, out, err)


def json_values(text: str) -> list:
    """The JSON values printed one after the other in text."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def test_every_sh_block_is_covered() -> None:
    counts: dict[tuple[str, str], int] = {}
    for file, heading, _ in sh_blocks():
        if file not in BENCHMARK_PAGES:
            counts[file, heading] = counts.get((file, heading), 0) + 1
    assert counts == COVERED, "a ```sh block was added, moved or removed: cover it in this file"


def test_venv_is_installed() -> None:
    # The documented install lines are not run (the test installs nothing): the venv they make must exist.
    assert (VENV / "bin" / "agentledger").exists() and (VENV / "bin" / "pytest").exists(), (
        "the repository's .venv is not installed: run ./test"
    )


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (tracked and new files, as on disk) for commands that write files."""
    target = tmp_path_factory.mktemp("readme") / "checkout"
    copy_checkout(target)
    return target


# --- ## Two commands -------------------------------------------------------------------------------


def test_run_serves_the_api_and_its_curl_line_submits(checkout: Path) -> None:
    run_block, _ = blocks_of("Two commands")
    port = free_port()
    # The block's alternative, `./run --port 8080`, on a free port (it covers the plain `./run` too).
    [command] = re.findall(r"# or (\./run --port 8080)\n", run_block)
    command = adapt(command, [("8080", str(port))])
    # AGENTLEDGER_VENV (docs/operations.md, "What `./run` does"): run on the repository's .venv instead of installing one.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["AGENTLEDGER_VENV"] = str(VENV)
    out_file, err_file = checkout.parent / "run.out", checkout.parent / "run.err"
    with open(out_file, "w") as out, open(err_file, "w") as err:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=checkout, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )

    def output() -> str:
        return f"stdout:\n{out_file.read_text()}\nstderr:\n{err_file.read_text()}"

    try:
        deadline = time.monotonic() + 40
        while "Stop with Ctrl-C" not in out_file.read_text():
            assert process.poll() is None, f"./run ended early (exit {process.returncode})\n{output()}"
            assert time.monotonic() < deadline, f"./run was not ready in 40 s\n{output()}"
            time.sleep(0.1)
        stdout = out_file.read_text()
        assert f"http://127.0.0.1:{port}/docs" in stdout, output()
        # The curl lines ./run prints (README: "a curl line that submits an event and one that shows the
        # event's audit trail"), run as printed.
        submit = re.search(r"^\s*(curl -s -X POST .*)$", stdout, flags=re.MULTILINE)
        history = re.search(r"^\s*(curl -s \S+/events/ID/history .*)$", stdout, flags=re.MULTILINE)
        assert submit and history, output()
        result = run_sh(submit.group(1), checkout, env, timeout=15)
        assert result.returncode == 0, databases.describe(result)
        event = json.loads(result.stdout)
        assert event["customer_id"] == "cust-42" and event["status"] == "queued", result.stdout
        result = run_sh(history.group(1).replace("/ID/", f"/{event['id']}/"), checkout, env, timeout=15)
        assert result.returncode == 0, databases.describe(result)
        assert json.loads(result.stdout)["entries"][0]["actor"] == "dev", result.stdout

        # ## Walkthrough, against this server, both blocks in one shell as in one terminal: the example
        # underwriter decides and disburses; then a large loan waits for two reviewers.
        small, large = blocks_of("Walkthrough")
        walkthrough = adapt(small + "\n" + large, [("localhost:8000", f"127.0.0.1:{port}")])
        result = run_sh(walkthrough, checkout, env, timeout=60)
        assert result.returncode == 0, databases.describe(result)
        # curl prints each without a newline
        event, history, queue, first, second, large_history = json_values(result.stdout)
        history_text = result.stdout
        assert event["status"] == "completed" and event["result"]["rule_version"], history_text
        assert [(e["to_status"], e["actor"]) for e in history["entries"]] == [
            ("queued", "dev"),
            ("processing", "example-agents"),
            ("approved", "example-agents"),
            ("completed", "example-agents"),
        ], history_text
        assert history["entries"][2]["reason"] == "debt to income 0.20 is within policy", history_text
        assert history["verification"]["ok"] is True, history_text
        [waiting] = [r for r in queue["items"] if r["id"] == first["id"]]
        assert (waiting["proposed_status"], first["status"], second["status"]) == (
            "approved",
            "in_review",
            "approved",
        ), history_text
        assert [(e["to_status"], e["actor"]) for e in large_history["entries"]] == [
            ("queued", "dev"),
            ("processing", "example-agents"),
            ("in_review", "example-agents"),
            ("in_review", "dev-reviewer-1"),
            ("approved", "dev-reviewer-2"),
            ("completed", "example-agents"),
        ], history_text
        assert large_history["entries"][-1]["details"]["action"] == "disbursed", history_text
        assert large_history["verification"]["ok"] is True, history_text

        process.send_signal(signal.SIGINT)  # Ctrl-C
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output()


def test_test_commands_exist_and_ci_runs_them() -> None:
    _, test_block = blocks_of("Two commands")
    # Not run: see SKIPPED["./test"].
    commands = [line.split("#")[0].split() for line in test_block.splitlines() if line.strip()]
    assert commands and all(words[0] == "./test" for words in commands), test_block
    for words in commands:  # the pytest arguments name files that exist
        for word in words[1:]:
            if not word.startswith("-"):
                assert (REPO / word).exists(), f"{word} in `{' '.join(words)}` does not exist"
    for script in ("test", ".ci/run"):
        assert os.access(REPO / script, os.X_OK), f"{script} exists and is executable"
    assert re.search(r"^exec bash \./test\b|^\./test\b", (REPO / ".ci/run").read_text(), flags=re.MULTILINE), (
        ".ci/run runs ./test"
    )


# --- docs/http-api.md, ## Running it -------------------------------------------------------------------


@pytest.fixture
def api_role() -> Iterator[str]:
    """A unique name for the documented server-wide `api_service` role, dropped afterwards."""
    name = f"api_service_{secrets.token_hex(4)}"
    yield name
    databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def url(user: str, db: str) -> str:
    return f"postgresql://{user}@{databases.HOST}:{databases.PORT}/{db}"


def test_api_keys_serve_and_curl(fresh_db: str, api_role: str) -> None:
    [block] = blocks_of("Running it")
    db, port = databases.dbname(fresh_db), free_port()
    serve = f".venv/bin/agentledger serve --port {port}"
    script = adapt(
        block,
        [
            (
                " -h 127.0.0.1 -U postgres agentledger -c",
                f" -h {databases.HOST} -p {databases.PORT} -U {databases.USER} {db} -c",
            ),
            ("CREATE ROLE api_service LOGIN", f"CREATE ROLE {api_role} LOGIN"),
            ("postgresql://postgres@127.0.0.1:5432/agentledger", url(databases.USER, db)),
            ("postgresql://api_service@127.0.0.1:5432/agentledger", url(api_role, db)),
            # In the background, waited for on /readyz; stopped with SIGINT once the documented curl has run.
            (
                ".venv/bin/agentledger serve --port 8000\n",
                f"{serve} &\nSERVER=$!\ntrap 'kill $SERVER 2>/dev/null || true' EXIT\n"
                f"for _ in $(seq 150); do curl -sf localhost:{port}/readyz >/dev/null && break; sleep 0.1; done\n",
            ),
            ("localhost:8000/events", f"localhost:{port}/events"),
        ],
    )
    script += '\necho\nkill -INT $SERVER\nwait $SERVER && code=0 || code=$?\necho "server exit $code"\n'
    result = run_sh(script, REPO, databases.client_env(), timeout=45)
    assert result.returncode == 0, databases.describe(result)
    *_, answer, stopped = result.stdout.splitlines()
    event = json.loads(answer)
    assert event["customer_id"] == "cust-42" and event["status"] == "queued", databases.describe(result)
    assert stopped == "server exit 0", databases.describe(result)
    with psycopg.connect(fresh_db) as conn:
        actor, db_user = conn.execute(
            "SELECT actor, db_user FROM ledger.audit_log WHERE event_id = %s", [event["id"]]
        ).fetchone()
    assert (actor, db_user) == ("intake-service", api_role), "the key's name acts, as the API role"


# --- docs/operations.md, ### `agentledger db`: deploying without sqitch ----------------------------


def test_db_commands_deploy_verify_and_revert() -> None:
    [block] = blocks_of("`agentledger db`: deploying without sqitch")
    with databases.scratch_database() as conninfo:
        db = databases.dbname(conninfo)
        script = adapt(
            block,
            [
                # Not reinstalled: the venv must already have the command.
                (".venv/bin/pip install -e .", "test -x .venv/bin/agentledger"),
                ("postgresql://postgres@127.0.0.1:5432/agentledger", url(databases.USER, db)),
            ],
        )
        result = run_sh(script, REPO, databases.client_env(), timeout=45)
        assert result.returncode == 0, databases.describe(result)
        with psycopg.connect(conninfo) as conn:
            [last] = conn.execute("SELECT change FROM sqitch.changes ORDER BY committed_at DESC LIMIT 1").fetchone()
    assert last == "tables/events", "the revert stopped after tables/events"


def test_function_changes_commands(checkout: Path) -> None:
    block, _ = blocks_of("Changing a SQL function")
    # In the copy (sync writes files), on the repository's venv: nothing is out of date, so both pass.
    script = adapt(
        block, [(".venv/bin/agentledger db functions", f"{VENV}/bin/agentledger db functions --project-dir .")]
    )
    result = run_sh(script, checkout, databases.client_env())
    assert result.returncode == 0, databases.describe(result)
    assert "every function change is up to date" in result.stdout, databases.describe(result)


def test_schema_snapshot_refresh_command(checkout: Path) -> None:
    _, block = blocks_of("Changing a SQL function")
    # In the copy (it rewrites db/schema.sql), on the repository's venv.
    script = adapt(block, [(".venv/bin/pytest", f"{VENV}/bin/pytest -p no:cacheprovider")])
    result = run_sh(script, checkout, databases.client_env())
    assert result.returncode == 0 and "1 passed" in result.stdout, databases.describe(result)
    assert (checkout / "db" / "schema.sql").read_text().strip(), "the snapshot was written"


# --- docs/benchmarks.md and bench/README.md -----------------------------------------------------------


def benchmark_commands() -> list[str]:
    """Every command of the benchmark pages' ```sh blocks, its comment cut off, each once."""
    commands = []
    for file, _, block in sh_blocks():
        if file in BENCHMARK_PAGES:
            for line in block.splitlines():
                command = line.split(" #")[0].strip()
                if command and command not in commands:
                    commands.append(command)
    return commands


def test_benchmark_commands_accept_their_options() -> None:
    # See SKIPPED["bench/*.py"]: each command with --help appended; its options must be in the help.
    commands = benchmark_commands()
    assert {re.match(r"\.venv/bin/python (bench/\w+\.py)\b", c).group(1) for c in commands} == {
        f"bench/{p.name}" for p in (REPO / "bench").glob("*_bench.py")
    } | {"bench/client_submit.py"}, "every benchmark is documented, and every documented command runs a benchmark"
    for command in commands:
        result = run_sh(f"{command} --help", REPO, dict(os.environ), timeout=30)
        assert result.returncode == 0 and "usage:" in result.stdout, databases.describe(result)
        for option in set(re.findall(r"\s(--?[a-z][\w-]*)", command)) - {"--help"}:  # --help is [-h]
            assert re.search(rf"\[{re.escape(option)}\b", result.stdout), f"{option} is an option of `{command}`"
