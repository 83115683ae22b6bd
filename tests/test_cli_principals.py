"""`agentledger principals`: the real command line against a private deployed database. What it
adds is checked by what the database then lets the principal's logins and keys do."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.support import databases
from tests.support.databases import REPO_ROOT, describe
from tests.support.roles import LoginAs


def agentledger(args: list[str], dsn: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m agentledger ...` with DATABASE_URL set to dsn."""
    env = {**databases.client_env(), "DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "agentledger", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def ok(args: list[str], dsn: str) -> subprocess.CompletedProcess[str]:
    result = agentledger(args, dsn)
    assert result.returncode == 0 and "Traceback" not in result.stderr, describe(result)
    return result


def refused(args: list[str], dsn: str, code: int = 1) -> subprocess.CompletedProcess[str]:
    result = agentledger(args, dsn)
    assert (result.returncode, result.stdout) == (code, ""), describe(result)
    assert "Traceback" not in result.stderr and result.stderr.strip(), describe(result)
    return result


def table(stdout: str) -> list[list[str]]:
    """The rows of a printed table, split on runs of two or more spaces (cells hold single spaces)."""
    return [re.split(r" {2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


def principals(dsn: str) -> dict[str, list[str]]:
    header, *rows = table(ok(["principals", "list"], dsn).stdout)
    assert header == ["NAME", "KIND", "ACTIVE", "LOGINS", "KEYS", "CREATED", "DEACTIVATED", "REASON"]
    return {row[0]: row[1:] for row in rows}


@pytest.fixture
def worker_login(bare_db: str) -> Iterator[tuple[str, str]]:
    """A login in agentledger_worker that acts for no principal yet: (its name, its DSN)."""
    name = f"agentledger_test_login_{secrets.token_hex(4)}"
    role = sql.Identifier(name)
    databases.execute(databases.ADMIN_URL, sql.SQL("CREATE ROLE {} LOGIN IN ROLE agentledger_worker").format(role))
    yield name, make_conninfo(bare_db, user=name)
    databases.execute(databases.ADMIN_URL, sql.SQL("DROP ROLE IF EXISTS {}").format(role))


def test_add_list_and_deactivate(bare_db: str, worker_login: tuple[str, str]) -> None:
    login, worker_dsn = worker_login
    nothing = ok(["principals", "list"], bare_db)
    assert nothing.stdout == "" and "no principals; add one with `agentledger principals add`" in nothing.stderr

    added = ok(["principals", "add", "fraud-agent", "--kind", "agent", "--login", login], bare_db)
    assert added.stdout == f"added principal fraud-agent (agent); database login {login} acts for it\n"
    assert ok(["principals", "add", "alice", "--kind", "human"], bare_db).stdout == "added principal alice (human)\n"
    key = ok(["keys", "create", "--principal", "alice", "--role", "reviewer"], bare_db).stdout.strip()

    listed = principals(bare_db)
    assert listed["alice"][:4] == ["human", "yes", "-", "alice"]
    assert listed["fraud-agent"][:4] == ["agent", "yes", login, "-"]
    assert listed["alice"][5:] == ["-", "-"]

    # The login now acts for its principal: the database names it as the actor of the claim.
    with psycopg.connect(bare_db, autocommit=True) as conn:
        conn.execute("SELECT api.create_principal('intake', 'service', session_user)")
        [(event_id,)] = conn.execute("SELECT id FROM api.submit_event('cust-1', 'fraud_alert', '{}')").fetchall()
    with psycopg.connect(worker_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT id FROM api.claim_events('w1', 1)").fetchall() == [(event_id,)]
    with psycopg.connect(bare_db, autocommit=True) as conn:
        assert conn.execute("SELECT lease_owner FROM ledger.events WHERE id = %s", [event_id]).fetchall() == [
            ("fraud-agent",)
        ]
        assert conn.execute(
            "SELECT actor, actor_kind::text, db_user, details ->> 'instance' FROM api.event_history(%s) WHERE version = 2",
            [event_id],
        ).fetchall() == [("fraud-agent", "agent", login, "w1")]

    # Deactivated: its logins and keys act no more; the reason is kept.
    gone = ok(["principals", "deactivate", "fraud-agent", "--reason", "agent retired"], bare_db)
    assert re.fullmatch(
        r"deactivated principal fraud-agent \(agent\) at [\d-]+ [\d:]+ [+-]\d{4}: its keys and logins act no more\n",
        gone.stdout,
    ), describe(gone)
    assert ok(["principals", "deactivate", "alice", "--reason", "left the bank"], bare_db).returncode == 0
    listed = principals(bare_db)
    assert listed["fraud-agent"][1] == "no" and listed["fraud-agent"][6] == "agent retired"
    assert listed["alice"][:2] == ["human", "no"] and listed["alice"][6] == "left the bank"
    with (
        psycopg.connect(worker_dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InvalidAuthorizationSpecification),
    ):
        conn.execute("SELECT * FROM api.claim_events('w1', 1)")
    with psycopg.connect(bare_db, autocommit=True) as conn:
        assert conn.execute("SELECT * FROM api.authenticate_api_key(%s)", [key]).fetchall() == []

    again = ok(["principals", "deactivate", "fraud-agent", "--reason", "twice"], bare_db)
    assert again.stdout.startswith("principal fraud-agent was already deactivated at ")
    assert again.stdout.endswith(" (agent retired); nothing changed\n"), describe(again)


def test_refusals_exit_1_with_the_database_message_and_hint(bare_db: str, worker_login: tuple[str, str]) -> None:
    login, _ = worker_login
    ok(["principals", "add", "ops", "--kind", "human", "--login", login], bare_db)
    taken = refused(["principals", "add", "ops", "--kind", "agent"], bare_db)
    assert (
        taken.stderr
        == "agentledger: a principal named ops exists already\nhint: Choose another name, or another login.\n"
    )
    mapped = refused(["principals", "add", "ops-2", "--kind", "human", "--login", login], bare_db)
    assert f"login {login} acts for another principal already" in mapped.stderr, describe(mapped)
    no_role = refused(["principals", "add", "bob", "--kind", "human", "--login", "no_such_login"], bare_db)
    assert "no database role is named 'no_such_login'\nhint: Create the login first" in no_role.stderr
    bad_name = refused(["principals", "add", "bad name", "--kind", "human"], bare_db)
    assert "invalid principal name 'bad name'\nhint: Use 1-100 letters" in bad_name.stderr, describe(bad_name)
    bad_kind = refused(["principals", "add", "carol", "--kind", "robot"], bare_db, code=2)
    assert "invalid choice: 'robot'" in bad_kind.stderr, describe(bad_kind)
    unknown = refused(["principals", "deactivate", "nobody", "--reason", "left"], bare_db)
    assert "no principal is named 'nobody'\nhint: List them with agentledger principals list." in unknown.stderr
    no_reason = refused(["principals", "deactivate", "ops", "--reason", " "], bare_db)
    assert "deactivating a principal needs a reason\nhint: " in no_reason.stderr, describe(no_reason)
    assert set(principals(bare_db)) == {"ops"}, "nothing else was made"


def test_a_non_administrator_is_told_so(bare_db: str, login_as: LoginAs) -> None:
    for args in (["principals", "list"], ["principals", "add", "eve", "--kind", "human"]):
        result = refused(args, login_as(bare_db, "agentledger_api"))
        assert "managing principals and API keys needs an administrator" in result.stderr, describe(result)
