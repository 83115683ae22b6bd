"""Collect each db/tests/*.sql file as one pytest item that runs it with pg_prove.

The files wrap themselves in BEGIN ... ROLLBACK, so they all share the
deployed template database without leaving anything behind.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import databases
from tests.support.fixtures import template_name

PG_PROVE_MISSING = (
    "pg_prove is not on PATH; install the Debian packages postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl"
)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.File | None:
    if file_path.suffix == ".sql" and file_path.parent == parent.config.rootpath / "db" / "tests":
        return PgTapFile.from_parent(parent, path=file_path)
    return None


class PgTapFile(pytest.File):
    def collect(self):
        yield PgTapItem.from_parent(self, name="pgtap")


class PgTapItem(pytest.Item):
    def runtest(self) -> None:
        if shutil.which("pg_prove") is None:
            pytest.fail(PG_PROVE_MISSING, pytrace=False)
        result = subprocess.run(
            databases.pg_prove_command(template_name(self.config), self.path),
            env=databases.client_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            pytest.fail(f"pg_prove exited {result.returncode}\n{output}", pytrace=False)
        self.add_report_section("call", "pg_prove", output)  # shown with -rP

    def reportinfo(self):
        return self.path, None, f"pgTAP {self.path.name}"
