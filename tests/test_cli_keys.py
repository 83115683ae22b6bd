"""`agentledger keys`: the real command line against a private deployed database; the keys it
prints are checked by the database's own authentication function, and a scoped key by what the
database lets it do."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

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


def keys(args: list[str], dsn: str) -> subprocess.CompletedProcess[str]:
    return agentledger(["keys", *args], dsn)


def principal(dsn: str, name: str, kind: str) -> None:
    result = agentledger(["principals", "add", name, "--kind", kind], dsn)
    assert result.returncode == 0, describe(result)


def authenticated(dsn: str, key: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT name, role, principal, event_types, customers FROM api.authenticate_api_key(%s)", [key]
        ).fetchall()


def table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def test_create_list_revoke(fresh_db: str) -> None:
    principal(fresh_db, "underwriting-agent", "agent")
    created = keys(
        ["create", "--principal", "underwriting-agent", "--role", "worker", "--name", "underwriter-1"], fresh_db
    )
    assert created.returncode == 0, describe(created)
    key = created.stdout.strip()
    assert created.stdout == key + "\n"  # the key alone on stdout, for $(...)
    assert "created API key underwriter-1 (worker) for underwriting-agent. It will not be shown again" in created.stderr
    assert authenticated(fresh_db, key) == [("underwriter-1", "worker", "underwriting-agent", None, None)]

    listed = keys(["list"], fresh_db)
    assert listed.returncode == 0, describe(listed)
    header, row = table(listed.stdout)
    assert header[:6] == ["NAME", "PRINCIPAL", "ROLE", "TYPES", "CUSTOMERS", "PREFIX"]
    assert row[:6] == ["underwriter-1", "underwriting-agent", "worker", "all", "all", key[3:15]]
    assert key not in listed.stdout

    revoked = keys(["revoke", "--name", "underwriter-1", "--reason", "leaked in a log"], fresh_db)
    assert revoked.returncode == 0, describe(revoked)
    assert revoked.stdout.startswith("revoked API key underwriter-1 (worker)")
    assert authenticated(fresh_db, key) == []
    assert "leaked in a log" in keys(["list"], fresh_db).stdout


def test_a_key_is_named_after_its_principal_by_default_and_a_principal_may_hold_several(fresh_db: str) -> None:
    principal(fresh_db, "alice", "human")
    first = keys(["create", "--principal", "alice", "--role", "reviewer"], fresh_db)
    second = keys(["create", "--principal", "alice", "--role", "auditor", "--name", "alice-audit"], fresh_db)
    assert first.returncode == 0 and second.returncode == 0, describe(first) + describe(second)
    assert authenticated(fresh_db, first.stdout.strip()) == [("alice", "reviewer", "alice", None, None)]
    assert authenticated(fresh_db, second.stdout.strip()) == [("alice-audit", "auditor", "alice", None, None)]
    [listed] = [r for r in table(agentledger(["principals", "list"], fresh_db).stdout) if r[0] == "alice"]
    assert listed[4] == "alice,alice-audit", "the principal's valid keys"


def test_a_scoped_key_acts_only_within_its_types_and_customers(fresh_db: str) -> None:
    principal(fresh_db, "retail-intake", "service")
    created = keys(
        [
            "create",
            "--principal",
            "retail-intake",
            "--role",
            "submitter",
            "--types",
            "loan_application, fraud_alert",
            "--customers",
            "retail-%",
        ],
        fresh_db,
    )
    assert created.returncode == 0, describe(created)
    key = created.stdout.strip()
    assert (
        "created API key retail-intake (submitter) for retail-intake, limited to event types loan_application, "
        "fraud_alert and customers LIKE 'retail-%'." in created.stderr
    ), describe(created)
    assert authenticated(fresh_db, key) == [
        ("retail-intake", "submitter", "retail-intake", ["loan_application", "fraud_alert"], "retail-%")
    ]
    [row] = table(keys(["list"], fresh_db).stdout)[1:]
    assert row[1:5] == ["retail-intake", "submitter", "loan_application,fraud_alert", "retail-%"]

    # The database holds the key to its scope.
    submit = "SELECT actor, api_key FROM api.submit_event(%s, %s, '{}', p_key => %s) s, api.event_history(s.id)"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute(submit, ["retail-7", "loan_application", key]).fetchall() == [
            ("retail-intake", "retail-intake")
        ]
        for customer, event_type in (("corporate-7", "loan_application"), ("retail-7", "support_ticket")):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(submit, [customer, event_type, key])


def test_database_refusals_exit_1_with_its_message(fresh_db: str) -> None:
    principal(fresh_db, "intake", "service")
    assert keys(["create", "--principal", "intake", "--role", "submitter"], fresh_db).returncode == 0
    again = keys(["--db-url", fresh_db, "create", "--principal", "intake", "--role", "worker"], "unused")
    assert (again.returncode, again.stdout) == (1, ""), describe(again)
    assert "an API key named intake exists already\nhint: Choose another name" in again.stderr, describe(again)

    nobody = keys(["create", "--principal", "nobody", "--role", "worker"], fresh_db)
    assert (nobody.returncode, nobody.stdout) == (1, ""), describe(nobody)
    assert "no active principal is named 'nobody'\nhint: Create it first: agentledger principals add" in nobody.stderr

    # Only a person reviews: no reviewer key for a service.
    reviewer = keys(["create", "--principal", "intake", "--role", "reviewer", "--name", "intake-review"], fresh_db)
    assert (reviewer.returncode, reviewer.stdout) == (1, ""), describe(reviewer)
    assert "intake is service: only a human principal may hold a reviewer key\nhint: " in reviewer.stderr

    unregistered = keys(["create", "--principal", "intake", "--role", "submitter", "--types", "mortgage"], fresh_db)
    assert unregistered.returncode == 1 and "are not all registered" in unregistered.stderr, describe(unregistered)
    bad_role = keys(["create", "--principal", "intake", "--role", "admin"], fresh_db)
    assert bad_role.returncode == 2 and "invalid choice: 'admin'" in bad_role.stderr, describe(bad_role)
    no_principal = keys(["create", "--role", "worker"], fresh_db)
    assert no_principal.returncode == 2 and "--principal" in no_principal.stderr, describe(no_principal)

    unknown = keys(["revoke", "--name", "nobody", "--reason", "retired"], fresh_db)
    assert unknown.returncode == 1 and "no API key is named 'nobody'" in unknown.stderr, describe(unknown)
    assert "Traceback" not in again.stderr + nobody.stderr + reviewer.stderr + unregistered.stderr + unknown.stderr


def test_a_non_administrator_is_told_so(fresh_db: str, login_as: LoginAs) -> None:
    result = keys(["list"], login_as(fresh_db, "agentledger_api"))
    assert result.returncode == 1, describe(result)
    assert "needs an administrator" in result.stderr
