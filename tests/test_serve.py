"""`agentledger serve`: the real command as a subprocess, answering over real HTTP, and stopping
with every one of its processes on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support import databases
from tests.support.processes import children, free_port


def serve(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """The command, run in cwd: an empty directory, so that no .env file adds settings."""
    return subprocess.Popen(
        [sys.executable, "-m", "agentledger", "serve", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_up(url: str, server: subprocess.Popen[str], seconds: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_two_processes_serve_and_stop_on_sigterm(
    fresh_db: str, login_as: Callable[[str, str], str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**databases.client_env(), "DATABASE_URL": login_as(fresh_db, "agentledger_api")}
    server = serve(["--port", str(port), "--processes", "2", "--log-level", "warning"], env, tmp_path)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", server).json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json() == {"status": "ready"}
        workers = children(server.pid)
        assert len(workers) == 2, workers
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
        assert server.returncode == 0, stderr
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a server process outlived the command"


def test_without_database_url_it_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    server = serve(["--port", str(free_port())], env, tmp_path)
    _, stderr = server.communicate(timeout=30)
    assert server.returncode == 2
    assert "DATABASE_URL is not set" in stderr
