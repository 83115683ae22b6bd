"""What `agentledger run` (./run) prepares in the database before it starts anything: the principals,
the development keys and the example workers' login mapping, on a fresh database, again on the next
run, and on a setup from before principals (keys of their own principal, made by the upgrade).
tests/test_run_command.py runs the whole command; here its steps run against a private database."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from agentledger.cli import run
from agentledger.errors import AgentledgerError
from tests.support.roles import LoginAs


@pytest.fixture
def admin(bare_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(bare_db, autocommit=True) as conn:
        yield conn


@pytest.fixture
def worker_login(bare_db: str, login_as: LoginAs) -> str:
    """A worker login that acts for no principal yet, as ./run's agentledger_dev_worker at first."""
    return str(conninfo_to_dict(login_as(bare_db, "agentledger_worker", None))["user"])


def show(path: Path) -> str:
    return path.name


def prepare(conn: psycopg.Connection, state: Path, login: str) -> tuple[str, run.DevKey, list[run.DevKey]]:
    """The steps of run._prepare_access that concern principals, in its order."""
    note = run._login_principal(conn, login, run.WORKER_PRINCIPAL)
    key = run._dev_key(conn, run.KEY_NAME, run.KEY_KIND, run.KEY_ROLE, state / run.KEY_FILE, show)
    reviewers = [run._dev_key(conn, name, "human", "reviewer", state / file, show) for name, file in run.REVIEWER_KEYS]
    return note, key, reviewers


def principals(conn: psycopg.Connection) -> dict[str, tuple]:
    """name -> (kind, active, logins, valid keys)."""
    rows = conn.execute("SELECT name, kind, active, logins, keys FROM api.list_principals()").fetchall()
    return {name: tuple(rest) for name, *rest in rows}


def acts_as(conn: psycopg.Connection, key: str) -> tuple[str, str, str]:
    """(key name, role, principal) of a key, as the database authenticates it."""
    return conn.execute("SELECT name, role, principal FROM api.authenticate_api_key(%s)", [key]).fetchone()


def test_a_fresh_database_gets_its_principals_and_the_next_run_finds_them(
    admin: psycopg.Connection, worker_login: str, tmp_path: Path
) -> None:
    note, key, reviewers = prepare(admin, tmp_path, worker_login)
    assert note == f"created the agent principal example-agents; the example workers' login {worker_login} acts for it"
    assert key.note.startswith("created the development API key dev (worker) of the new agent principal dev;")
    assert [(r.name, r.principal) for r in reviewers] == [
        ("dev-reviewer-1", "dev-reviewer-1"),
        ("dev-reviewer-2", "dev-reviewer-2"),
    ], "two reviewers: two people"
    assert principals(admin) == {
        "dev": ("agent", True, [], ["dev"]),
        "dev-reviewer-1": ("human", True, [], ["dev-reviewer-1"]),
        "dev-reviewer-2": ("human", True, [], ["dev-reviewer-2"]),
        "example-agents": ("agent", True, [worker_login], []),
    }
    for made in (key, *reviewers):
        kept = tmp_path / f"{made.file}"
        assert kept.read_text() == made.key + "\n" and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert acts_as(admin, key.key) == ("dev", "worker", "dev")
    assert acts_as(admin, reviewers[1].key) == ("dev-reviewer-2", "reviewer", "dev-reviewer-2")

    # The next run: the same keys, read from their files; nothing new in the database.
    again_note, again_key, again_reviewers = prepare(admin, tmp_path, worker_login)
    assert again_note == f"the example workers' login {worker_login} acts for the agent principal example-agents"
    assert (
        again_key.key == key.key and again_key.note == "development API key dev (worker) of dev, read from dev-api-key"
    )
    assert [r.key for r in again_reviewers] == [r.key for r in reviewers]
    assert len(principals(admin)) == 4


def test_keys_from_before_principals_are_kept_and_their_principals_act(
    admin: psycopg.Connection, worker_login: str, tmp_path: Path
) -> None:
    """A setup from before principals: the upgrade gave each key a principal of its own name (the
    kind by its role), and the worker login acts for nobody yet. The keys in .agentledger/ keep
    working; the login gets its principal."""
    for name, kind, role in (
        ("dev", "agent", "worker"),
        ("dev-reviewer-1", "human", "reviewer"),
        ("dev-reviewer-2", "human", "reviewer"),
    ):
        admin.execute("SELECT api.create_principal(%s, %s)", [name, kind])
        key = admin.execute("SELECT api.create_api_key(%s, %s)", [name, role]).fetchone()[0]
        file = run.KEY_FILE if name == "dev" else f"{name}-key"
        (tmp_path / file).write_text(key + "\n")
    kept = {file.name: file.read_text() for file in tmp_path.iterdir()}

    note, key, reviewers = prepare(admin, tmp_path, worker_login)
    assert {file.name: file.read_text() for file in tmp_path.iterdir()} == kept, "no key was replaced"
    assert key.note == "development API key dev (worker) of dev, read from dev-api-key"
    assert [r.principal for r in reviewers] == ["dev-reviewer-1", "dev-reviewer-2"]
    assert note == f"created the agent principal example-agents; the example workers' login {worker_login} acts for it"
    assert set(principals(admin)) == {"dev", "dev-reviewer-1", "dev-reviewer-2", "example-agents"}


def test_a_lost_key_file_or_a_deactivated_principal_gets_a_new_key(
    admin: psycopg.Connection, worker_login: str, tmp_path: Path
) -> None:
    _, key, reviewers = prepare(admin, tmp_path, worker_login)
    (tmp_path / "dev-reviewer-2-key").unlink()
    admin.execute("SELECT api.deactivate_principal('dev', 'rotated')")

    _, new_key, new_reviewers = prepare(admin, tmp_path, worker_login)
    # The dev principal is gone: a new agent principal of the next free name, and its key.
    assert (new_key.name, new_key.principal) == ("dev-2", "dev-2") and new_key.key != key.key
    assert "(replacing a key this database does not take)" in new_key.note
    assert acts_as(admin, new_key.key) == ("dev-2", "worker", "dev-2")
    # The reviewer is still there: a second key of the same person.
    assert new_reviewers[0].key == reviewers[0].key
    assert (new_reviewers[1].name, new_reviewers[1].principal) == ("dev-reviewer-2-2", "dev-reviewer-2")
    assert principals(admin)["dev-reviewer-2"][3] == ["dev-reviewer-2", "dev-reviewer-2-2"]


def test_a_principal_name_taken_by_another_kind_is_not_reused(
    admin: psycopg.Connection, worker_login: str, tmp_path: Path
) -> None:
    """A reviewer key needs a person: a service named dev-reviewer-1 does not get it."""
    admin.execute("SELECT api.create_principal('dev-reviewer-1', 'service')")
    admin.execute("SELECT api.create_principal('example-agents', 'agent')")  # without the login
    note, _, reviewers = prepare(admin, tmp_path, worker_login)
    assert reviewers[0].principal == "dev-reviewer-1-2" and principals(admin)["dev-reviewer-1-2"][0] == "human"
    assert note.startswith("created the agent principal example-agents-2;")


def test_a_deactivated_worker_principal_stops_the_command_with_what_to_do(
    admin: psycopg.Connection, worker_login: str, tmp_path: Path
) -> None:
    prepare(admin, tmp_path, worker_login)
    admin.execute("SELECT api.deactivate_principal('example-agents', 'retired')")
    with pytest.raises(AgentledgerError) as stopped:
        prepare(admin, tmp_path, worker_login)
    assert str(stopped.value).startswith(
        f"the example workers' login {worker_login} acts for the principal example-agents, which was deactivated"
    )
