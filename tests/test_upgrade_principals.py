"""Upgrading a database of the last release before principals (0.7.0), with API keys, events and a lease in flight, to
principals: each key gets a principal of its own name, events keep their submitter for idempotency,
the old lease is refused to anyone who is not its principal and rescued once expired, and the trail
still verifies."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.databases import dbname, describe, run_sqitch
from tests.support.workers import sql

BEFORE_PRINCIPALS = "@v0.7.0"  # the last release whose keys had no principal


def old_key(dsn: str, name: str, role: str) -> str:
    return sql(dsn, "SELECT api.create_api_key(%s, %s)", name, role)[0][0]


def test_keys_events_and_leases_of_the_last_release_carry_over(empty_db: str) -> None:
    name = dbname(empty_db)
    deployed = run_sqitch(["deploy", "--to", BEFORE_PRINCIPALS], name)
    if deployed.returncode != 0:
        pytest.fail(describe(deployed), pytrace=False)
    keys = {role: old_key(empty_db, f"old-{role}", role) for role in ("submitter", "worker", "reviewer", "auditor")}
    # Written the way the last release's API wrote them: the key's name as the actor.
    kept = sql(
        empty_db,
        "SELECT id FROM api.submit_event('c-1', 'loan_application', '{\"amount\": 10}',"
        " p_idempotency_key => 'order-1', p_actor => 'old-submitter')",
    )[0][0]
    in_flight = sql(
        empty_db,
        "SELECT id FROM api.submit_event('c-2', 'loan_application', '{}', p_actor => 'old-submitter')",
    )[0][0]
    [(claimed, token)] = sql(empty_db, "SELECT id, lease_token FROM api.claim_events('old-worker-7', 1)")
    assert claimed == kept  # the oldest first
    before = sql(empty_db, "SELECT id, status::text, version FROM ledger.events ORDER BY id")

    upgraded = run_sqitch(["deploy"], name)
    assert upgraded.returncode == 0, describe(upgraded)
    assert sql(empty_db, "SELECT id, status::text, version FROM ledger.events ORDER BY id") == before

    principals = sql(empty_db, "SELECT name, kind, keys FROM api.list_principals() ORDER BY name")
    assert principals == [
        ("old-auditor", "human", ["old-auditor"]),
        ("old-reviewer", "human", ["old-reviewer"]),
        ("old-submitter", "service", ["old-submitter"]),
        ("old-worker", "agent", ["old-worker"]),
    ]
    assert sql(empty_db, "SELECT principal, role FROM api.authenticate_api_key(%s)", keys["worker"]) == [
        ("old-worker", "worker")
    ]
    assert sql(empty_db, "SELECT submitted_by FROM ledger.events ORDER BY id") == [("old-submitter",)] * 2

    # The same submit, repeated after the upgrade with the same key, answers with the first event.
    replay = sql(
        empty_db,
        "SELECT created, id FROM api.submit_event('c-1', 'loan_application', '{\"amount\": 10}',"
        " p_idempotency_key => 'order-1', p_key => %s)",
        keys["submitter"],
    )
    assert replay == [(False, kept)]

    # The lease in flight was held by a worker's name, which is no principal: a worker key with its
    # token acts on nothing, and the rescue frees it once it has expired.
    refused = sql(
        empty_db,
        "SELECT outcome, code FROM api.decide_events(%s, %s, '{approved}', p_key => %s)",
        [claimed],
        [token],
        keys["worker"],
    )
    assert refused == [("refused", "AL009")]
    sql(empty_db, "SELECT api.create_principal('ops', 'agent', session_user)")
    rescued = sql(
        empty_db, "SELECT event_id, status::text FROM api.rescue_expired_leases(10, now() + interval '1 hour')"
    )
    assert rescued == [(claimed, "queued")]
    assert sql(
        empty_db, "SELECT actor, actor_kind::text FROM ledger.audit_log WHERE event_id = %s ORDER BY seq", claimed
    ) == [
        ("old-submitter", "agent"),
        ("old-worker-7", "agent"),
        ("ops", "system"),
    ]
    claims = sql(
        empty_db,
        "SELECT id, lease_token FROM api.claim_events('new-worker', 10, NULL, now() + interval '1 hour', %s)",
        keys["worker"],
    )
    assert sorted(i for i, _ in claims) == sorted([kept, in_flight])
    assert sql(empty_db, "SELECT DISTINCT lease_owner FROM ledger.events WHERE lease_token IS NOT NULL") == [
        ("old-worker",)
    ]
    assert sql(empty_db, "SELECT ok FROM api.verify_audit()") == [(True,)]
    with pytest.raises(psycopg.errors.InvalidAuthorizationSpecification):
        sql(empty_db, "SELECT * FROM api.get_event(%s, %s)", kept, "al_" + "0" * 64)
