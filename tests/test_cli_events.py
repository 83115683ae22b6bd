"""`agentledger events` and `agentledger stats`: the real command line against a private deployed
database. What the commands print is checked against what the database holds, and the README's
example of them (README, "Operator commands") runs as written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support import databases
from tests.support.databases import REPO_ROOT, describe
from tests.support.docs import code_blocks, section
from tests.support.roles import LoginAs


def agentledger(args: list[str], dsn: str | None) -> subprocess.CompletedProcess[str]:
    """Run `python -m agentledger ...` with DATABASE_URL set to dsn (unset when None)."""
    env = {k: v for k, v in databases.client_env().items() if k != "DATABASE_URL"}
    if dsn is not None:
        env["DATABASE_URL"] = dsn
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


def ok(args: list[str], dsn: str | None) -> subprocess.CompletedProcess[str]:
    result = agentledger(args, dsn)
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    return result


def refused(args: list[str], dsn: str | None, code: int = 1) -> subprocess.CompletedProcess[str]:
    """A run that must fail with exit code `code`, a message and no traceback."""
    result = agentledger(args, dsn)
    assert result.returncode == code, describe(result)
    assert "Traceback" not in result.stderr and result.stderr.strip(), describe(result)
    return result


def submit(dsn: str, customer: str = "cust-42", event_type: str = "loan_application", *extra: str) -> int:
    result = ok(["events", "submit", "--customer", customer, "--type", event_type, *extra], dsn)
    return int(result.stdout)


def query(dsn: str, statement: str, params: list[object] | None = None) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def login_name(dsn: str) -> str:
    """The login of a DSN login_as made: also the name of the principal it acts for."""
    return str(conninfo_to_dict(dsn)["user"])


def table(stdout: str) -> list[list[str]]:
    """The rows of a printed table, split on runs of two or more spaces (cells hold single spaces)."""
    return [re.split(r" {2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


# --- submit ---------------------------------------------------------------------------------------


def test_submit_prints_the_id_alone_and_the_database_has_the_event(fresh_db: str) -> None:
    result = ok(
        [
            "events",
            "submit",
            "--customer",
            "cust-42",
            "--type",
            "loan_application",
            "--payload",
            '{"amount": 25000, "note": "caf\\u00e9"}',
            "--priority",
            "5",
            "--idempotency-key",
            "application-1",
        ],
        fresh_db,
    )
    event_id = int(result.stdout)
    assert result.stdout == f"{event_id}\n", "the id alone on stdout, for ID=$(...)"
    assert f"submitted event {event_id} (loan_application for cust-42): queued" in result.stderr
    [(customer, payload, priority, status)] = query(
        fresh_db, "SELECT customer_id, payload, priority, status FROM api.get_event(%s)", [event_id]
    )
    assert (customer, payload, priority, status) == ("cust-42", {"amount": 25000, "note": "café"}, 5, "queued")
    assert query(fresh_db, "SELECT actor, api_key FROM api.event_history(%s)", [event_id]) == [(databases.USER, None)]

    # The same submit again: the first event answers, nothing new is written.
    again = ok(
        [
            "events",
            "submit",
            "--customer",
            "cust-42",
            "--type",
            "loan_application",
            "--payload",
            '{"amount": 25000, "note": "caf\\u00e9"}',
            "--priority",
            "5",
            "--idempotency-key",
            "application-1",
        ],
        fresh_db,
    )
    assert again.stdout == f"{event_id}\n" and "nothing new was submitted" in again.stderr, describe(again)
    assert query(fresh_db, "SELECT count(*) FROM api.list_events()") == [(1,)]

    # The same key with another body is the database's refusal (AL004), with its hint.
    clash = refused(
        [
            "events",
            "submit",
            "--customer",
            "cust-42",
            "--type",
            "loan_application",
            "--payload",
            '{"amount": 1}',
            "--idempotency-key",
            "application-1",
        ],
        fresh_db,
    )
    assert clash.stdout == "" and "was already used for event" in clash.stderr, describe(clash)
    assert "\nhint: Repeat a submit with exactly the same" in clash.stderr, describe(clash)


def test_the_actor_is_the_principal_the_login_acts_for(fresh_db: str, login_as: LoginAs) -> None:
    intake = login_as(fresh_db, "agentledger_api", "service")
    event_id = submit(intake)
    assert query(fresh_db, "SELECT actor, actor_kind, api_key, db_user FROM api.event_history(%s)", [event_id]) == [
        (login_name(intake), "system", None, login_name(intake))
    ], "a service principal acts as system; no API key was used"
    assert "--actor" not in agentledger(["events", "submit", "--help"], None).stdout, "nobody names the actor"


def test_a_login_that_acts_for_no_principal_is_told_so(fresh_db: str, login_as: LoginAs) -> None:
    nobody = login_as(fresh_db, "agentledger_api", None)
    result = refused(["events", "submit", "--customer", "cust-42", "--type", "loan_application"], nobody)
    assert result.stderr == (
        f"agentledger: database login {login_name(nobody)} acts for no principal\n"
        f"hint: An administrator maps it: agentledger principals add NAME --kind KIND --login {login_name(nobody)}.\n"
    ), describe(result)
    assert query(fresh_db, "SELECT count(*) FROM api.list_events()") == [(0,)], "nothing was submitted"
    # Reads need no principal: nothing changes.
    assert ok(["events", "list"], nobody).stderr == "agentledger: no events match\n"


def test_bad_payloads_are_refused_without_a_traceback(fresh_db: str) -> None:
    base = ["events", "submit", "--customer", "cust-42", "--type", "loan_application", "--payload"]
    not_json = refused([*base, "{amount: 1"], fresh_db, code=2)
    assert "--payload is not valid JSON: Expecting property name" in not_json.stderr, describe(not_json)
    nan = refused([*base, '{"amount": NaN}'], fresh_db, code=2)
    assert "--payload is not valid JSON: NaN is not a JSON value" in nan.stderr, describe(nan)
    # JSON, but not what the database accepts as a payload: its message and hint.
    array = refused([*base, "[1, 2]"], fresh_db)
    assert array.stderr.startswith("agentledger: payload must be a JSON object, not array\nhint: "), describe(array)
    nul = refused([*base, '{"text": "\\u0000"}'], fresh_db)
    assert "unsupported Unicode escape sequence" in nul.stderr, describe(nul)
    unknown_type = refused(["events", "submit", "--customer", "c", "--type", "mortgage"], fresh_db)
    assert "unknown event type 'mortgage'" in unknown_type.stderr and "loan_application" in unknown_type.stderr
    assert query(fresh_db, "SELECT count(*) FROM api.list_events()") == [(0,)], "nothing was submitted"


def test_no_database_url_is_misuse(fresh_db: str) -> None:
    for args in (
        ["events", "list"],
        ["events", "show", "1"],
        ["stats"],
        ["events", "submit", "--customer", "c", "--type", "loan_application"],
    ):
        result = refused(args, None, code=2)
        assert "no database given: pass --db-url or set DATABASE_URL" in result.stderr, describe(result)


def test_db_url_before_or_after_the_action(fresh_db: str) -> None:
    event_id = submit(fresh_db)
    for args in (
        ["events", "--db-url", fresh_db, "show", str(event_id)],
        ["events", "show", str(event_id), "--db-url", fresh_db],
        ["stats", "--db-url", fresh_db],
    ):
        ok(args, "host=/nonexistent dbname=unused")  # the option wins over DATABASE_URL


# --- list and show --------------------------------------------------------------------------------


def test_list_prints_a_table_filters_and_pages(fresh_db: str) -> None:
    first = submit(fresh_db, "cust-1", "loan_application")
    second = submit(fresh_db, "cust-2", "fraud_alert", "--priority", "3")
    third = submit(fresh_db, "cust-1", "support_ticket")
    ok(["events", "cancel", str(third), "--reason", "duplicate ticket"], fresh_db)

    listed = ok(["events", "list"], fresh_db)
    header, *rows = table(listed.stdout)
    assert header[:6] == ["ID", "STATUS", "TYPE", "CUSTOMER", "PRIORITY", "ATTEMPTS"]
    assert [row[:6] for row in rows] == [
        [str(first), "queued", "loan_application", "cust-1", "0", "0/5"],
        [str(second), "queued", "fraud_alert", "cust-2", "3", "0/5"],
        [str(third), "failed", "support_ticket", "cust-1", "0", "0/5"],
    ]
    # Aligned: every column starts at the same offset on every line.
    lines = listed.stdout.splitlines()
    assert len({line.index(cells[2]) for line, cells in zip(lines, [header, *rows], strict=False)}) == 1

    def ids(args: list[str]) -> list[int]:
        return [int(row[0]) for row in table(ok(["events", "list", *args], fresh_db).stdout)[1:]]

    assert ids(["--status", "queued"]) == [first, second]
    assert ids(["--customer", "cust-1"]) == [first, third]
    assert ids(["--type", "fraud_alert"]) == [second]
    assert ids(["--customer", "cust-1", "--status", "failed"]) == [third]
    page = ok(["events", "list", "--limit", "2"], fresh_db)
    assert [int(row[0]) for row in table(page.stdout)[1:]] == [first, second]
    assert f"add --after-id {second}" in page.stderr, describe(page)
    assert ids(["--after-id", str(second)]) == [third]

    nothing = ok(["events", "list", "--customer", "nobody"], fresh_db)
    assert nothing.stdout == "" and "no events match" in nothing.stderr


def test_list_json_is_one_object_per_line(fresh_db: str) -> None:
    ids = [submit(fresh_db, f"cust-{n}", "loan_application", "--payload", json.dumps({"n": n})) for n in range(3)]
    result = ok(["events", "list", "--json"], fresh_db)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["id"] for e in events] == ids
    assert [e["payload"] for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert all(e["status"] == "queued" and "lease_token" not in e for e in events)


def test_list_refusals_carry_the_database_message(fresh_db: str) -> None:
    status = refused(["events", "list", "--status", "done"], fresh_db)
    assert "unknown status 'done'" in status.stderr and "hint: Use one of: queued" in status.stderr
    limit = refused(["events", "list", "--limit", "5000"], fresh_db)
    assert "limit 5000 is out of range" in limit.stderr and "hint:" in limit.stderr
    assert refused(["events", "list", "--limit", "ten"], fresh_db, code=2).stderr


def test_show_readable_and_json(fresh_db: str) -> None:
    event_id = submit(fresh_db, "cust-9", "fraud_alert", "--payload", '{"card": "1234", "amount": 90.5}')
    shown = ok(["events", "show", str(event_id)], fresh_db)
    fields = dict(re.split(r" {2,}", line, maxsplit=1) for line in shown.stdout.splitlines())
    assert fields["id"] == str(event_id) and fields["customer id"] == "cust-9"
    assert fields["event type"] == "fraud_alert" and fields["status"] == "queued"
    assert json.loads(fields["payload"]) == {"card": "1234", "amount": 90.5}
    assert fields["lease owner"] == "-"

    as_json = json.loads(ok(["events", "show", str(event_id), "--json"], fresh_db).stdout)
    [(expected,)] = query(fresh_db, "SELECT to_jsonb(e) FROM api.get_event(%s) e", [event_id])
    assert as_json == expected


def test_unknown_event_id(fresh_db: str) -> None:
    for action in (
        ["show", "424242"],
        ["history", "424242"],
        ["requeue", "424242", "--reason", "r"],
        ["cancel", "424242", "--reason", "r"],
    ):
        result = refused(["events", *action], fresh_db)
        assert result.stdout == "", describe(result)
        assert result.stderr.startswith("agentledger: event 424242 does not exist\nhint: "), describe(result)
    assert "out of range" in refused(["events", "show", str(2**63)], fresh_db, code=2).stderr
    assert "not an integer" in refused(["events", "show", "forty"], fresh_db, code=2).stderr


# --- requeue, cancel and history ------------------------------------------------------------------


def test_requeue_of_an_event_that_has_not_failed_is_refused(fresh_db: str) -> None:
    event_id = submit(fresh_db)
    result = refused(["events", "requeue", str(event_id), "--reason", "try again"], fresh_db)
    assert result.stderr.startswith(
        f"agentledger: event {event_id} is queued; only failed events can be re-queued\nhint: "
    ), describe(result)
    assert query(fresh_db, "SELECT status, version FROM api.get_event(%s)", [event_id]) == [("queued", 1)]


def test_cancel_then_requeue_shows_in_the_history(fresh_db: str, login_as: LoginAs) -> None:
    # Three principals: an intake service submits, an operator cancels, the administrator re-queues.
    intake, operator = login_as(fresh_db, "agentledger_api", "service"), login_as(fresh_db, "agentledger_api", "human")
    event_id = submit(intake, "cust-42", "loan_application")
    cancelled = ok(["events", "cancel", str(event_id), "--reason", "customer withdrew"], operator)
    assert cancelled.stdout == (
        f"cancelled event {event_id}: now failed (version 2) by {login_name(operator)}: customer withdrew\n"
    )
    again = refused(["events", "cancel", str(event_id), "--reason", "twice"], fresh_db)
    assert f"event {event_id} is failed; only queued events can be cancelled" in again.stderr, describe(again)
    no_reason = refused(["events", "requeue", str(event_id), "--reason", ""], fresh_db)
    assert "hint:" in no_reason.stderr, describe(no_reason)  # AL008: a re-queue needs a reason

    requeued = ok(["events", "requeue", str(event_id), "--reason", "customer came back"], fresh_db)
    assert requeued.stdout.startswith(f"re-queued event {event_id}: now queued (version 3) by {databases.USER}")
    assert query(fresh_db, "SELECT status FROM api.get_event(%s)", [event_id]) == [("queued",)]

    history = ok(["events", "history", str(event_id)], fresh_db)
    header, *rows, last = table(history.stdout)
    assert header[:8] == ["SEQ", "VERSION", "FROM", "TO", "ACTOR", "KIND", "API KEY", "DB USER"]
    assert [row[1:8] for row in rows] == [
        ["1", "-", "queued", login_name(intake), "system", "-", login_name(intake)],
        ["2", "queued", "failed", login_name(operator), "human", "-", login_name(operator)],
        ["3", "failed", "queued", databases.USER, "human", "-", databases.USER],
    ]
    assert "customer withdrew" in rows[1] and "customer came back" in rows[2]
    assert last == ["audit chain: ok (3 rows checked)"]

    lines = ok(["events", "history", str(event_id), "--json"], fresh_db).stdout.splitlines()
    entries, verdict = [json.loads(line) for line in lines[:-1]], json.loads(lines[-1])
    assert [(e["version"], e["to_status"], e["reason"]) for e in entries] == [
        (1, "queued", None),
        (2, "failed", "customer withdrew"),
        (3, "queued", "customer came back"),
    ]
    assert entries[1]["prev_hash"] == entries[0]["hash"], "the chain links each row to the one before"
    assert verdict == {
        "verify_audit": {
            "ok": True,
            "rows_checked": 3,
            "seals_checked": 0,
            "broken_seq": None,
            "broken_event_id": None,
            "problem": None,
        }
    }


def test_history_reports_a_broken_chain(fresh_db: str) -> None:
    event_id = submit(fresh_db)
    ok(["events", "cancel", str(event_id), "--reason", "customer withdrew\n(by phone)"], fresh_db)
    assert len(ok(["events", "history", str(event_id)], fresh_db).stdout.splitlines()) == 4, (
        "header, two rows (the reason's line break escaped) and the chain line"
    )
    # Tampering as a superuser with the append-only trigger disabled (README, "The audit trail").
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger.audit_log DISABLE TRIGGER _100_refuse_change")
        conn.execute(
            "UPDATE ledger.audit_log SET reason = 'a better story' WHERE event_id = %s AND version = 2", [event_id]
        )
    result = refused(["events", "history", str(event_id)], fresh_db)
    assert "a better story" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("audit chain: BROKEN: audit row "), describe(result)
    assert "does not match its hash" in result.stdout
    assert result.stderr == f"agentledger: the audit chain of event {event_id} is broken\n", describe(result)
    as_json = refused(["events", "history", str(event_id), "--json"], fresh_db)
    verdict = json.loads(as_json.stdout.splitlines()[-1])["verify_audit"]
    assert verdict["ok"] is False and verdict["broken_seq"] is not None, describe(as_json)
    assert f"the audit chain of event {event_id} is broken: audit row" in as_json.stderr, describe(as_json)


# --- roles ----------------------------------------------------------------------------------------


def test_an_api_login_runs_the_operator_commands(fresh_db: str, login_as: LoginAs) -> None:
    dsn = login_as(fresh_db, "agentledger_api", "human")
    event_id = submit(dsn)
    ok(["events", "cancel", str(event_id), "--reason", "wrong customer"], dsn)
    ok(["events", "requeue", str(event_id), "--reason", "customer confirmed"], dsn)
    assert ok(["events", "history", str(event_id)], dsn).stdout.splitlines()[-1] == "audit chain: ok (3 rows checked)"
    ok(["stats"], dsn)


def test_roles_that_may_not_are_told_so(fresh_db: str, login_as: LoginAs) -> None:
    event_id = submit(fresh_db)
    worker = login_as(fresh_db, "agentledger_worker")
    result = refused(["events", "cancel", str(event_id), "--reason", "no"], worker)
    assert "permission denied for function cancel_event\nhint: connect as a login role" in result.stderr
    # A worker may read the trail but not verify it: the trail is shown, the check is said not to have run.
    history = refused(["events", "history", str(event_id)], worker)
    assert table(history.stdout)[1][3] == "queued", describe(history)
    assert history.stdout.splitlines()[-1] == "audit chain: not checked", describe(history)
    assert "was not checked: permission denied for function verify_audit" in history.stderr, describe(history)
    as_json = refused(["events", "history", str(event_id), "--json"], worker)
    assert json.loads(as_json.stdout.splitlines()[-1])["verify_audit"] is None, describe(as_json)


# --- stats ----------------------------------------------------------------------------------------


def test_stats_summarises_the_queue(fresh_db: str) -> None:
    empty = ok(["stats"], fresh_db)
    assert empty.stdout.startswith("no events yet\n") and "none waiting" in empty.stdout, describe(empty)

    for customer in ("cust-1", "cust-2"):
        submit(fresh_db, customer, "loan_application")
    cancelled = submit(fresh_db, "cust-3", "fraud_alert")
    ok(["events", "cancel", str(cancelled), "--reason", "false alarm"], fresh_db)
    # A decided event waiting for its action (decided without keeping the lease), and a claim whose
    # lease has run out (a lease of 10 ms).
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT api.submit_event('cust-4', 'support_ticket', '{}')")
        [(decided, token)] = conn.execute("SELECT id, lease_token FROM api.claim_events('w1', 1, '{support_ticket}')")
        [(outcome,)] = conn.execute(
            "SELECT outcome FROM api.decide_events(%s, %s, '{approved}', p_keep_lease => false)", [[decided], [token]]
        )
        assert outcome == "done"
        conn.execute("SELECT api.submit_event('cust-5', 'fraud_alert', '{}')")
        conn.execute("UPDATE ledger.settings SET lease_duration = '10 milliseconds'")
        assert len(conn.execute("SELECT * FROM api.claim_events('w2', 1, '{fraud_alert}')").fetchall()) == 1
    time.sleep(0.05)

    result = ok(["stats"], fresh_db)
    header, *rows = table(result.stdout.split("\n\n")[0])
    assert header == ["TYPE", "QUEUED", "PROCESSING", "APPROVED", "REJECTED", "COMPLETED", "FAILED", "TOTAL"]
    assert rows == [
        ["fraud_alert", "0", "1", "0", "0", "0", "1", "2"],
        ["loan_application", "2", "0", "0", "0", "0", "0", "2"],
        ["support_ticket", "0", "0", "1", "0", "0", "0", "1"],
        ["(all)", "2", "1", "1", "0", "0", "1", "5"],
    ]
    summary = dict(line.split(": ", 1) for line in result.stdout.split("\n\n")[1].splitlines())
    assert re.fullmatch(
        r"\d+\.\d s \(runnable since \d{4}-\d\d-\d\d [\d:]{8} [+-]\d{4}\)", summary["oldest runnable event has waited"]
    )
    assert summary["decided events awaiting their action"] == "1"
    assert summary["expired leases waiting for the rescue"] == "1"
    assert summary["notification queue usage"].endswith("%")

    stats = json.loads(ok(["stats", "--json"], fresh_db).stdout)
    assert stats["decided_awaiting_action"] == 1 and stats["leases_expired"] == 1
    assert {(c["event_type"], c["status"]): c["events"] for c in stats["counts"]} == {
        ("fraud_alert", "processing"): 1,
        ("fraud_alert", "failed"): 1,
        ("loan_application", "queued"): 2,
        ("support_ticket", "approved"): 1,
    }


@pytest.mark.parametrize("args", [["events", "list"], ["stats"]])
def test_an_undeployed_database_is_named(empty_db: str, args: list[str]) -> None:
    result = refused(args, empty_db)
    assert "hint: is agentledger deployed in this database?" in result.stderr, describe(result)


# --- the README's example -------------------------------------------------------------------------


def test_the_readme_example_runs(bare_db: str) -> None:
    # tests/test_readme_commands.py counts this block as covered here.
    [block] = code_blocks(section("Operator commands"), "sh")
    readme_url = "postgresql://postgres@127.0.0.1:5432/agentledger"
    assert readme_url in block, "the README command changed"
    test_url = f"postgresql://{databases.USER}@{databases.HOST}:{databases.PORT}/{databases.dbname(bare_db)}"
    env = {k: v for k, v in databases.client_env().items() if k != "DATABASE_URL"}
    readme_login = "--login postgres "
    assert readme_login in block, "the README command changed"
    # The block maps its login to a principal first: the test's administrator login.
    script = block.replace(readme_url, test_url).replace(readme_login, f"--login {databases.USER} ")
    script += 'echo "id=$ID"\n'  # the id the block captured
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, describe(result)
    event_id = int(result.stdout.splitlines()[-1].removeprefix("id="))
    out = result.stdout
    assert json.loads(re.search(r"^\{.*\}$", out, flags=re.MULTILINE).group())["id"] == event_id
    assert f"cancelled event {event_id}: now failed" in out and f"re-queued event {event_id}: now queued" in out
    assert "audit chain: ok (3 rows checked)" in out and "TYPE " in out and "QUEUED" in out
    assert query(bare_db, "SELECT status, version, payload FROM api.get_event(%s)", [event_id]) == [
        ("queued", 3, {"amount": 25000})
    ]
    assert query(bare_db, "SELECT DISTINCT actor, actor_kind::text FROM api.event_history(%s)", [event_id]) == [
        ("dba", "human")
    ], "every step is the mapped principal's"
