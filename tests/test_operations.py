"""Operations as docs/operations.md describes them: a backup restored into a new database keeps a
verifying audit trail, and a database deployed at an earlier tag upgrades with its events intact."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support import databases
from tests.support.databases import dbname, describe, run_sqitch
from tests.support.docs import section
from tests.support.workers import sql, statuses, submit


def test_the_backup_commands_restore_a_trail_that_verifies(fresh_db, tmp_path):
    submit(fresh_db, 50)
    sql(fresh_db, "SELECT count(*) FROM api.claim_events('w', 10)")
    sql(fresh_db, "SELECT api.seal_audit('ops')")
    [block] = re.findall(r"```sh\n(.*?)```", section("Backups"), flags=re.DOTALL)
    restored = databases.new_name()
    script = block.replace("-h 127.0.0.1 -U postgres", f"-h {databases.HOST} -p {databases.PORT} -U {databases.USER}")
    script = script.replace("agentledger_restored", restored)
    script = re.sub(r"(-Fc) agentledger ", rf"\1 {dbname(fresh_db)} ", script)
    script = script.replace("-f db/deploy/", f"-f {databases.REPO_ROOT}/db/deploy/")  # run from a scratch folder
    assert script.count(restored) == 4 and dbname(fresh_db) in script, script
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=databases.client_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, describe(result)
        assert re.search(r"^ t  \| +\d+ \| *$", result.stdout, flags=re.MULTILINE), result.stdout
        copy = databases.dsn(restored)
        original = sql(
            fresh_db, "SELECT count(*), max(seq), (SELECT digest FROM api.latest_seal()) FROM ledger.audit_log"
        )
        assert (
            sql(copy, "SELECT count(*), max(seq), (SELECT digest FROM api.latest_seal()) FROM ledger.audit_log")
            == original
        )
        assert statuses(copy) == statuses(fresh_db) == {"queued": 40, "processing": 10}
        assert "CREATE ROLE agentledger_worker" in (tmp_path / "roles.sql").read_text()
        public_rights = sql(
            databases.ADMIN_URL,
            "SELECT a.privilege_type FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
            " WHERE d.datname = %s AND a.grantee = 0",
            restored,
        )
        assert public_rights == [], "the copy is closed to logins outside agentledger's roles again"

    finally:
        databases.drop_database(restored)


ALL_TAGS = re.findall(r"^(@\S+)", (databases.REPO_ROOT / "sqitch.plan").read_text(), flags=re.MULTILINE)
# The first release, the one before the function-per-change takeover, and the last: each upgrade runs
# the whole database suite, so every tag would cost the suite's time once more. (Every tag is still
# deployed and reverted to by tests/test_sqitch_revert_to_tags.py.)
TAGS = sorted({ALL_TAGS[0], "@v0.5.0", ALL_TAGS[-1]} & set(ALL_TAGS), key=ALL_TAGS.index)


@pytest.mark.parametrize("tag", TAGS)
def test_a_database_deployed_at_an_earlier_tag_upgrades_with_its_events(empty_db, tag, login_as):
    name = dbname(empty_db)
    deployed = run_sqitch(["deploy", "--to", tag], name)
    if deployed.returncode != 0:
        pytest.fail(describe(deployed), pytrace=False)
    # Events in every status, written through the functions of that release. Since principals, the
    # administrator acts for one, a transition names no actor, and an action is claimed before it
    # completes: the event that completes goes first, so it is the one decided event to claim.
    with_principals = sql(empty_db, "SELECT to_regproc('api.create_principal') IS NOT NULL")[0][0]
    if with_principals:
        databases.acting_admin(empty_db)
    ids = submit(empty_db, 7)
    steps = {
        ids[3]: ["processing", "approved", "completed"],
        ids[0]: ["processing"],
        ids[1]: ["processing", "approved"],
        ids[2]: ["processing", "rejected"],
        ids[4]: ["processing", "failed"],
    }
    for event_id, statuses_in_order in steps.items():
        for status in statuses_in_order:
            reason = "gave up" if status == "failed" else None
            if not with_principals:
                sql(
                    empty_db, "SELECT api.transition_event(%s, %s, 'old-worker', 'agent', %s)", event_id, status, reason
                )
            elif status == "completed":
                [(claimed_id, token)] = sql(empty_db, "SELECT id, lease_token FROM api.claim_actions('old-worker', 1)")
                assert claimed_id == event_id
                sql(empty_db, "SELECT api.transition_event(%s, 'completed', p_lease_token => %s)", event_id, token)
            else:
                sql(empty_db, "SELECT api.transition_event(%s, %s, %s)", event_id, status, reason)
    before = sql(empty_db, "SELECT id, status::text, version FROM ledger.events ORDER BY id")

    upgraded = run_sqitch(["deploy"], name)
    assert upgraded.returncode == 0, describe(upgraded)
    verified = run_sqitch(["verify"], name)
    assert verified.returncode == 0, describe(verified)
    assert sql(empty_db, "SELECT id, status::text, version FROM ledger.events ORDER BY id") == before
    assert sql(empty_db, "SELECT ok FROM api.verify_audit()")[0][0] is True

    # The new protocol takes the old events over, acting as principals: a new worker's login claims
    # the queued ones and the decided ones' actions; a DBA's login (it may move the clock) rescues
    # the old lease once it has run out.
    worker = login_as(empty_db, "agentledger_worker")
    admin = login_as(empty_db, "agentledger_owner", "human")
    claimed = sql(worker, "SELECT id, lease_token FROM api.claim_events('new-worker', 10)")
    actions = sql(worker, "SELECT id, lease_token FROM api.claim_actions('new-worker', 10)")
    assert sorted(i for i, _ in claimed) == ids[5:7] and sorted(i for i, _ in actions) == ids[1:3]
    done = sql(
        worker, "SELECT outcome FROM api.complete_events(%s, %s)", [i for i, _ in actions], [t for _, t in actions]
    )
    assert done == [("done",), ("done",)]
    rescued = sql(admin, "SELECT event_id, status::text FROM api.rescue_expired_leases(10, now() + interval '1 hour')")
    assert (ids[0], "queued") in rescued
    assert sql(empty_db, "SELECT ok FROM api.verify_audit()")[0][0] is True

    # The whole database suite passes on the upgraded database, beside the events it kept, once none of
    # them is left to claim (but for a file that verifies the whole trail and says it needs a database
    # of its own).
    for _ in range(2):  # the queued ones, then the decided ones
        held = sql(
            admin,
            """SELECT id, lease_token FROM api.claim_events('closer', 100, NULL, now() + interval '2 hours')
                                UNION ALL
                                SELECT id, lease_token FROM api.claim_actions('closer', 100, NULL, now() + interval '2 hours')""",
        )
        sql(
            admin,
            "SELECT count(*) FROM api.fail_events(%s, %s, %s, NULL, %s, now() + interval '2 hours')",
            [i for i, _ in held],
            [t for _, t in held],
            ["upgrade test done"] * len(held),
            [False] * len(held),
        )
    assert sql(empty_db, "SELECT count(*) FROM ledger.events WHERE status NOT IN ('completed', 'failed')")[0][0] == 0
    sql(empty_db, "CREATE EXTENSION pgtap")
    sql(empty_db, "DELETE FROM ledger.principal_logins WHERE login = session_user")  # each file maps it itself
    files = sorted((databases.REPO_ROOT / "db" / "tests").glob("*.sql"))
    own = [f for f in files if "-- requires: a database without events" in f.read_text()]
    assert [f.name for f in own] == ["audit_tamper_detection.sql"]
    for test_file in (f for f in files if f not in own):
        result = subprocess.run(
            databases.pg_prove_command(name, test_file),
            env=databases.client_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, describe(result)


def test_ordered_events_deployed_before_the_order_lines_keep_their_lines(empty_db, login_as):
    """Ordered events written before the first_in_line mark existed: the upgrade marks each
    customer's earliest open one, so the held one keeps its turn and the rest follow it."""
    name = dbname(empty_db)
    deployed = run_sqitch(["deploy", "--to", "@v0.4.0"], name)
    assert deployed.returncode == 0, describe(deployed)
    sql(
        empty_db,
        """INSERT INTO ledger.event_types (name, description, ordered_per_customer)
                     VALUES ('old_ordered', 'ordered before the upgrade', true)""",
    )
    ids = [
        sql(empty_db, "SELECT id FROM api.submit_event(%s, 'old_ordered', '{}')", customer)[0][0]
        for customer in ("cust-a", "cust-a", "cust-a", "cust-b", "cust-b", "cust-c")
    ]
    a1, a2, a3, b1, b2, c1 = ids
    [(held, token)] = sql(empty_db, "SELECT id, lease_token FROM api.claim_events('old-worker', 1)")
    assert held == a1
    claims = dict(sql(empty_db, "SELECT id, lease_token FROM api.claim_events('old-worker', 10)"))
    assert list(claims) == [b1, c1], "a2 and a3 wait behind a1, b2 behind b1"
    sql(empty_db, "SELECT count(*) FROM api.fail_events(%s, %s, '{gave up}', NULL, '{false}')", [b1], [claims[b1]])
    sql(empty_db, "SELECT count(*) FROM api.release_events(%s, %s)", [c1], [claims[c1]])

    upgraded = run_sqitch(["deploy"], name)
    assert upgraded.returncode == 0, describe(upgraded)
    marks = dict(sql(empty_db, "SELECT id, first_in_line FROM ledger.events WHERE ordered"))
    assert marks == {a1: True, a2: False, a3: False, b1: True, b2: False, c1: True}
    # c1 is the only one claimable: a1 is still held, b1 failed and holds b2 back. The old worker,
    # now the principal old-worker (its name held the lease), finishes a1 with its token.
    new_worker = login_as(empty_db, "agentledger_worker")
    old_worker = login_as(empty_db, "agentledger_worker", principal="old-worker")
    assert [i for (i,) in sql(new_worker, "SELECT id FROM api.claim_events('new-worker', 10)")] == [c1]
    assert sql(old_worker, "SELECT outcome FROM api.decide_events(%s, %s, '{approved}')", [a1], [token]) == [("done",)]
    assert sql(old_worker, "SELECT outcome FROM api.complete_events(%s, %s)", [a1], [token]) == [("done",)]
    assert [i for (i,) in sql(new_worker, "SELECT id FROM api.claim_events('new-worker', 10)")] == [a2]
    assert sql(empty_db, "SELECT ok FROM api.verify_audit()")[0][0] is True
