"""A refused submit keeps nothing, on a real autocommit connection: no event, no audit row."""

from __future__ import annotations

import json

import psycopg
import pytest


def item(customer: str, **extra) -> dict:
    return {"customer_id": customer, "event_type": "loan_application", "payload": {"amount": 1}, **extra}


BAD_BATCHES = {
    "a later item has an unknown type": [item("atomic-a"), {**item("atomic-a"), "event_type": "nope"}],
    "a later item's payload is too large": [item("atomic-b"), item("atomic-b", payload={"x": "y" * 2_000_000})],
    "a later item reuses a key with another body": [
        item("atomic-c", idempotency_key="k"),
        {**item("atomic-c", idempotency_key="k"), "payload": {"amount": 2}},
    ],
}


@pytest.mark.parametrize("case", BAD_BATCHES)
def test_a_refused_batch_keeps_none_of_its_items(fresh_db: str, case: str) -> None:
    batch = BAD_BATCHES[case]
    customer = batch[0]["customer_id"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT * FROM api.submit_events(%s)", [json.dumps(batch)])
        assert refused.value.sqlstate.startswith("AL")
        kept = conn.execute(
            "SELECT (SELECT count(*) FROM ledger.events WHERE customer_id = %(c)s),"
            "       (SELECT count(*) FROM ledger.audit_log WHERE customer_id = %(c)s)",
            {"c": customer},
        ).fetchone()
    assert kept == (0, 0), "the valid first item was not kept"


def test_a_refused_replay_changes_nothing(fresh_db: str) -> None:
    submit = "SELECT id FROM api.submit_event('atomic-d', 'loan_application', %s::jsonb, p_idempotency_key => 'k')"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(submit, ['{"amount": 1}'])
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(submit, ['{"amount": 2}'])
        assert refused.value.sqlstate == "AL004"
        assert conn.execute(
            "SELECT count(*), min(payload::text) FROM ledger.events WHERE customer_id = 'atomic-d'"
        ).fetchone() == (1, '{"amount": 1}')
