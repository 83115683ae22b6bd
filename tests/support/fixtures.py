"""Database fixtures for Python tests.

deployed_template  name of the per-run database deployed by sqitch (shared)
fresh_db           DSN of a private copy of it, for tests that COMMIT
empty_db           DSN of a brand-new empty database, for sqitch round trips

The run is serial, and nothing here keeps a connection to the template open,
so cloning it with CREATE DATABASE ... TEMPLATE needs no extra locking.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import databases

TEMPLATE = pytest.StashKey[databases.DeployedTemplate]()


def pytest_configure(config: pytest.Config) -> None:
    template = databases.DeployedTemplate()
    config.stash[TEMPLATE] = template
    config.add_cleanup(template.drop)


def template_name(config: pytest.Config) -> str:
    """Build the template on first use; fail the calling test if that is impossible."""
    try:
        return config.stash[TEMPLATE].get()
    except databases.DatabaseSetupError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside `except`: no chained traceback


@pytest.fixture(scope="session")
def deployed_template(request: pytest.FixtureRequest) -> str:
    return template_name(request.config)


@pytest.fixture
def bare_db(deployed_template: str) -> Iterator[str]:
    """A private clone of the template where no principal exists yet, as right after a deploy:
    for the documentation's walkthroughs, which map their login first, and for listings."""
    with databases.scratch_database(template=deployed_template) as conninfo:
        yield conninfo


@pytest.fixture
def fresh_db(deployed_template: str) -> Iterator[str]:
    """A private clone of the template, where the administrator the tests connect as acts for a
    principal of its own name, as a DBA in psql would: the api functions record it as the actor."""
    with databases.scratch_database(template=deployed_template) as conninfo:
        yield databases.acting_admin(conninfo)


@pytest.fixture
def empty_db() -> Iterator[str]:
    with databases.scratch_database() as conninfo:
        yield conninfo
