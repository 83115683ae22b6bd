"""The HTTP API as a real server process: uvicorn serving the app factory over real sockets.

serving(env, cwd, *options) starts `python -m uvicorn --factory agentledger_api:create_app` (or,
with program="agentledger", `python -m agentledger serve`, uvicorn as deployed) on a free loopback
port with the settings in env, in cwd (an empty directory, so that no stray .env file adds
settings), waits until /healthz answers, and kills the process on exit. Tests that
need what only a real server shows use it: a deadline measured on the wall clock while the app's
own event loop runs, or bytes the HTTP parser refuses before the app sees them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port


@dataclass
class Server:
    url: str  # http://127.0.0.1:<port>
    port: int
    process: subprocess.Popen[bytes]
    log: Path  # uvicorn's and the app's output

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    env: dict[str, str], cwd: Path, *options: str, program: str = "uvicorn", timeout: float = 20.0
) -> Iterator[Server]:
    port = free_port()
    log = cwd / f"uvicorn-{port}.log"
    command = {
        "uvicorn": [sys.executable, "-m", "uvicorn", "--factory", "agentledger_api:create_app"],
        "agentledger": [sys.executable, "-m", "agentledger", "serve"],
    }[program]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), *options],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", port, process, log)
    try:
        _wait_until_healthy(server, timeout)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _wait_until_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"uvicorn exited with {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"uvicorn did not answer /healthz within {timeout} s:\n{server.output()}")
