"""Real `agentledger worker` processes: several sharing the work, one killed with SIGKILL while it
holds events, and graceful and aborted stops on signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support import databases
from tests.support.workers import settings, sql, statuses, submit, wait_until, worker_process


@pytest.fixture
def worker_dsn(fresh_db: str, login_as) -> str:
    return login_as(fresh_db, "agentledger_worker")


def principal_of(dsn: str) -> str:
    """The principal a login made by login_as acts for: its name is the login's."""
    return str(conninfo_to_dict(dsn)["user"])


@pytest.mark.stress  # four worker processes, 10,000 events
def test_four_processes_complete_ten_thousand_events_exactly_once(fresh_db, login_as, tmp_path):
    submit(fresh_db, 10_000)
    logins = [login_as(fresh_db, "agentledger_worker") for _ in range(4)]  # four agents, one login each
    agents = [principal_of(dsn) for dsn in logins]
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                worker_process(dsn, "loans", "--name", f"w{i}", "--prefetch", "50", log=tmp_path / f"w{i}.log")
            )
            for i, dsn in enumerate(logins)
        ]
        wait_until(lambda: statuses(fresh_db) == {"completed": 10_000}, 180, "10,000 completed")
        for process in workers:
            process.send_signal(signal.SIGTERM)
        assert [process.wait(30) for process in workers] == [0, 0, 0, 0]

    # Every event: submit, one claim, one decision, one completion, by one worker; attempts 1.
    shapes = sql(
        fresh_db,
        """
        SELECT steps, count(*) FROM (
            SELECT string_agg(coalesce(from_status::text, '') || '>' || to_status, ' ' ORDER BY seq) AS steps
              FROM ledger.audit_log GROUP BY event_id) s GROUP BY steps""",
    )
    assert shapes == [(">queued queued>processing processing>approved approved>completed", 10_000)]
    assert (
        sql(
            fresh_db,
            """SELECT count(*) FROM ledger.audit_log a
                             WHERE a.to_status <> 'queued' AND a.actor <> ALL (%s)""",
            agents,
        )[0][0]
        == 0
    )
    assert (
        sql(
            fresh_db,
            """SELECT count(*) FROM (SELECT event_id FROM ledger.audit_log WHERE to_status <> 'queued'
                             GROUP BY event_id HAVING count(DISTINCT actor) > 1) s""",
        )[0][0]
        == 0
    )
    assert sql(fresh_db, "SELECT ok, problem FROM api.verify_audit()")[0] == (True, None)
    # The work was shared.
    per_worker = dict(
        sql(fresh_db, "SELECT actor, count(*) FROM ledger.audit_log WHERE to_status = 'completed' GROUP BY 1")
    )
    assert len(per_worker) == 4, per_worker


@pytest.mark.stress  # a worker process killed
def test_events_held_by_a_killed_worker_are_rescued_and_finished_by_another(fresh_db, login_as, tmp_path):
    settings(fresh_db, lease_duration="2 s")
    ids = submit(fresh_db, 20)
    slow = {"AGENTLEDGER_TEST_HANDLER_SECONDS": "60"}
    doomed_dsn, survivor_dsn = login_as(fresh_db, "agentledger_worker"), login_as(fresh_db, "agentledger_worker")
    with worker_process(doomed_dsn, "loans", "--name", "doomed", env=slow, log=tmp_path / "doomed.log") as doomed:
        wait_until(lambda: statuses(fresh_db) == {"processing": 10, "queued": 10}, 30, "10 events held")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    held = {r[0] for r in sql(fresh_db, "SELECT id FROM ledger.events WHERE status = 'processing'")}
    with worker_process(survivor_dsn, "loans", "--name", "survivor", log=tmp_path / "survivor.log") as survivor:
        wait_until(lambda: statuses(fresh_db) == {"completed": 20}, 60, "all 20 completed")
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0

    rows = sql(fresh_db, "SELECT id, attempts FROM ledger.events ORDER BY id")
    assert len(rows) == len(ids)
    completions = dict(
        sql(fresh_db, "SELECT event_id, count(*) FROM ledger.audit_log WHERE to_status = 'completed' GROUP BY 1")
    )
    assert set(completions.values()) == {1}  # none completed twice
    # The ten the dead worker held: its claim, the rescue back to queued, then the survivor's claim.
    for event_id in held:
        steps = sql(
            fresh_db, "SELECT to_status::text, actor FROM ledger.audit_log WHERE event_id = %s ORDER BY seq", event_id
        )
        doomed, survivor = principal_of(doomed_dsn), principal_of(survivor_dsn)
        assert steps[1:4] == [("processing", doomed), ("queued", survivor), ("processing", survivor)]
    claims = dict(
        sql(fresh_db, "SELECT event_id, count(*) FROM ledger.audit_log WHERE to_status = 'processing' GROUP BY 1")
    )
    assert sorted(claims.values()) == [1] * 10 + [2] * 10


@pytest.mark.stress  # worker processes stopped by signals
def test_sigterm_finishes_running_handlers_releases_waiting_ones_and_exits_zero(fresh_db, worker_dsn, tmp_path):
    submit(fresh_db, 100)
    env = {"AGENTLEDGER_TEST_HANDLER_SECONDS": "1"}
    with worker_process(
        worker_dsn, "loans", "--name", "graceful", "--prefetch", "20", env=env, log=tmp_path / "graceful.log"
    ) as process:
        wait_until(lambda: statuses(fresh_db)["processing"] == 30, 30, "30 events held")
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(10) == 0
        took = time.monotonic() - started
    assert took < 5  # the running handlers needed about a second; the timeout is 5
    counts = statuses(fresh_db)
    assert counts == {"completed": 10, "queued": 90}, counts
    # The 20 claimed and waiting went back to the queue with their attempt returned.
    assert sql(fresh_db, "SELECT count(*) FROM ledger.events WHERE status = 'queued' AND attempts = 0")[0][0] == 90
    released = sql(
        fresh_db, "SELECT count(*) FROM ledger.audit_log WHERE from_status = 'processing' AND to_status = 'queued'"
    )
    assert released[0][0] == 20


@pytest.mark.stress  # worker processes stopped by signals
def test_handlers_slower_than_the_shutdown_timeout_are_released_and_a_second_signal_aborts(
    fresh_db, worker_dsn, tmp_path
):
    submit(fresh_db, 20)
    env = {"AGENTLEDGER_TEST_HANDLER_SECONDS": "60"}
    with worker_process(
        worker_dsn, "loans", "--name", "slowpoke", "--shutdown-timeout", "1", env=env, log=tmp_path / "slowpoke.log"
    ) as process:
        wait_until(lambda: statuses(fresh_db)["processing"] == 10, 30, "10 events held")
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert statuses(fresh_db) == {"queued": 20}

    with worker_process(worker_dsn, "loans", "--name", "aborted", env=env, log=tmp_path / "aborted.log") as process:
        wait_until(lambda: statuses(fresh_db)["processing"] == 10, 30, "10 events held again")
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 1  # aborted: not a clean stop, but nothing is left held
    assert statuses(fresh_db) == {"queued": 20}


def test_a_role_that_may_not_claim_is_told_so_and_the_worker_exits_1(fresh_db, login_as):
    auditor = login_as(fresh_db, "agentledger_auditor")
    result = subprocess.run(
        [sys.executable, "-m", "agentledger", "worker", "--app", "tests.worker_apps:loans"],
        cwd=databases.REPO_ROOT,
        env={**os.environ, "DATABASE_URL": auditor},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert re.search(
        r"agentledger: cannot claim (events|actions): permission denied for function claim_", result.stderr
    )
    assert "member of agentledger_worker" in result.stderr


def test_a_login_that_acts_for_no_principal_is_told_so_at_once_and_the_worker_exits_1(fresh_db, login_as):
    """The database acts for nobody on an unmapped login (28000): the worker stops at its first
    claim with the database's message and hint, instead of retrying as if the connection were lost."""
    nobody = login_as(fresh_db, "agentledger_worker", None)
    login = principal_of(nobody)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "agentledger", "worker", "--app", "tests.worker_apps:loans"],
        cwd=databases.REPO_ROOT,
        env={**os.environ, "DATABASE_URL": nobody},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 15, "it fails fast"
    assert re.search(
        rf"^agentledger: cannot claim (events|actions): database login {login} acts for no principal\n"
        rf"hint: An administrator maps it: agentledger principals add NAME --kind KIND --login {login}\.$",
        result.stderr,
        flags=re.MULTILINE,
    ), result.stderr
    assert "Traceback" not in result.stderr and "connection lost" not in result.stderr, result.stderr


def test_misuse_exits_2_with_a_clear_message():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    for args, message in (
        (["--app", "tests.worker_apps:loans"], "no database given"),
        (["--app", "no_such_module:worker"], "cannot import 'no_such_module'"),
        (["--app", "tests.worker_apps"], "--app takes MODULE:NAME"),
        (["--app", "tests.worker_apps:SECONDS"], "not an agentledger_worker.Worker"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "agentledger", "worker", *args],
            cwd=databases.REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.stress  # a worker process with a stuck handler
def test_a_stuck_sync_handler_does_not_keep_the_process_from_exiting(fresh_db, worker_dsn, tmp_path):
    submit(fresh_db, 4)
    with worker_process(
        worker_dsn, "sync_loans", env={"AGENTLEDGER_TEST_HANDLER_SECONDS": "120"}, log=tmp_path / "sync.log"
    ) as process:
        wait_until(lambda: statuses(fresh_db)["processing"] == 4, 30, "4 events held")
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0  # after the 1 s shutdown timeout, not after the handlers' 120 s
    assert statuses(fresh_db) == {"queued": 4}


@pytest.mark.parametrize(
    "app, threshold, frozen", [("gc_tuned", [20_000, 20, 100], True), ("gc_untouched", [700, 10, 10], False)]
)
def test_a_worker_process_tunes_the_garbage_collector_unless_told_not_to(
    fresh_db, worker_dsn, tmp_path, app, threshold, frozen
):
    [event_id] = submit(fresh_db, 1)
    with worker_process(worker_dsn, app, log=tmp_path / f"{app}.log") as process:
        wait_until(lambda: statuses(fresh_db)["approved"] == 1, 30, "the event decided")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    [(result,)] = sql(fresh_db, "SELECT result FROM ledger.events WHERE id = %s", event_id)
    assert (result["threshold"], result["frozen"] > 0) == (threshold, frozen), result
