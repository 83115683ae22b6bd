"""The API as it is deployed: a real uvicorn process (the app factory, settings from the
environment) serving real HTTP, stopped with SIGTERM like a process manager would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.api import assert_problem, bearer, event
from tests.support.processes import free_port


def wait_until_healthy(base_url: str, server: subprocess.Popen, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer /healthz within {timeout} s:\n{log.read_text()}")


@pytest.fixture
def server(
    fresh_db: str, login_as: Callable[[str, str], str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """(base URL, process, log file) of `uvicorn --factory agentledger_api:create_app` on a free port.

    It runs in an empty directory (so no stray .env is read) as an agentledger_api login role.
    """
    port, log = free_port(), tmp_path / "uvicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": login_as(fresh_db, "agentledger_api"),
        "AGENTLEDGER_POOL_MIN_SIZE": "1",
        "AGENTLEDGER_MAX_BODY_BYTES": "4096",
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "agentledger_api:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_real_server_submits_and_reads_then_stops_cleanly(
    server: tuple[str, subprocess.Popen, Path], fresh_db: str
) -> None:
    """POST /events and GET /events/{id} over HTTP, a chunked body over the limit is 413, a 4 MB
    header is 431, and
    SIGTERM shuts down gracefully: the lifespan ends (the pool closes) before the process exits."""
    base_url, process, log = server
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT api.create_principal('http-client', 'agent')")
        key = conn.execute("SELECT api.create_api_key('http-client', 'worker', 'http-client-key')").fetchone()[0]

    with httpx.Client(base_url=base_url, headers=bearer(key), timeout=10) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        created = client.post("/events", json=event("cust-http", payload={"amount": 7}))
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        fetched = client.get(f"/events/{event_id}")
        assert fetched.status_code == 200, fetched.text
        assert (fetched.json()["payload"], fetched.json()["changed_by"]) == ({"amount": 7}, "http-client")
        [entry] = client.get(f"/events/{event_id}/history").json()["entries"]
        assert (entry["actor"], entry["api_key"]) == ("http-client", "http-client-key")

        oversized = iter(
            [b'{"customer_id": "c", "event_type": "loan_application", "payload": {"x": "', b"y" * 8192, b'"}}']
        )
        too_large = client.post("/events", content=oversized, headers={"Content-Type": "application/json"})
        assert_problem(too_large, 413)

        # A 4 MB header is refused before any key check (431), and the server answers on.
        huge = client.get("/events", headers={"X-Filler": "z" * (4 * 1024 * 1024)})
        assert_problem(huge, 431, "headers_too_large")
        assert client.get("/healthz").status_code == 200

    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down, then raises the signal it caught again (since 0.29): -SIGTERM is its
    # normal exit after a graceful SIGTERM shutdown, 0 that of older versions.
    assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    output = log.read_text()
    assert "Application shutdown complete" in output and "Finished server process" in output, output
    assert "Traceback" not in output, output
