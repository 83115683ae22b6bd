"""What the distribution promises: the worker library and the command line need no web framework
(FastAPI and uvicorn are the `server` extra), and the commands that serve say how to get it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
import tomllib

from packaging.requirements import Requirement
from setuptools import find_packages

from tests.support import databases

WEB_STACK = ("fastapi", "starlette", "uvicorn", "pydantic")

# Run first in a fresh interpreter: any import of the web stack fails, as if it were not installed.
BLOCK_WEB_STACK = textwrap.dedent(f"""
    import importlib.abc
    import sys

    BLOCKED = {WEB_STACK!r}

    class NoWebStack(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, NoWebStack())
""")


PACKAGES = {
    "agentledger",
    "agentledger.cli",
    "agentledger.sqitch",
    "agentledger_api",
    "agentledger_api.routes",
    "agentledger_worker",
    "agentledger_examples",
}


def test_discovery_finds_exactly_the_packages_and_the_type_hints_ship() -> None:
    """What setuptools discovers with pyproject.toml's settings: each folder's one package (no
    tests, bench or db), and the worker library's py.typed as package data."""
    setuptools_config = tomllib.loads((databases.REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    find = setuptools_config["packages"]["find"]
    found = {
        name
        for where in find["where"]
        for name in find_packages(str(databases.REPO_ROOT / where), include=find["include"])
    }
    assert found == PACKAGES
    assert setuptools_config["package-data"]["agentledger_worker"] == ["py.typed"]
    assert (databases.REPO_ROOT / "worker" / "agentledger_worker" / "py.typed").is_file()


def run_without_web_stack(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_WEB_STACK + textwrap.dedent(code)],
        cwd=databases.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_worker_library_imports_and_builds_a_worker_without_the_web_stack() -> None:
    result = run_without_web_stack("""
        import asyncio

        import agentledger_worker
        from agentledger_worker import Worker
        from agentledger_worker.runtime import Runtime

        worker = Worker("postgresql://nowhere/none", name="packaging-check", concurrency=2)

        @worker.handler("loan_application")
        async def decide(event, ctx):
            return ctx.approve()

        async def build():
            return Runtime(worker, worker.dsn)

        runtime = asyncio.run(build())
        assert runtime.name == "packaging-check" and worker.decision_handlers == {"loan_application": decide}
        import agentledger_examples.agents
        import agentledger.cli.main
        assert agentledger.cli.main.build_parser().parse_args(["stats"]).command == "stats"
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_the_web_stack_is_only_in_the_server_extra() -> None:
    requirements = [Requirement(text) for text in importlib.metadata.requires("agentledger") or []]
    core = {r.name.lower().replace("_", "-") for r in requirements if r.marker is None}
    # cryptography signs the audit witness (`agentledger audit`); boto3 is the `s3` extra.
    assert core == {"psycopg", "psycopg-pool", "cryptography"}, core
    s3 = {r.name.lower() for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "s3"})}
    assert s3 == {"boto3"}, s3
    for requirement in requirements:
        if requirement.name.lower() in ("fastapi", "uvicorn"):
            assert requirement.marker is not None and requirement.marker.evaluate({"extra": "server"}), requirement
            assert not requirement.marker.evaluate({"extra": "test"}), requirement
    server = {r.name.lower() for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "server"})}
    assert server == {"fastapi", "uvicorn"}, server


def test_serve_and_run_say_which_extra_they_need() -> None:
    for command in (["serve"], ["run", "--port", "1"]):
        result = run_without_web_stack(f"""
            import os
            os.environ["DATABASE_URL"] = "postgresql://nowhere/none"
            from agentledger.cli.main import main
            raise SystemExit(main({command!r}))
        """)
        assert result.returncode == 1, (command, result.stderr)
        assert "needs the `server` extra" in result.stderr and "agentledger[server]" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
