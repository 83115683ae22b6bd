"""The sqitch plan deploys, verifies, reverts completely and deploys again."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.databases import dbname, describe, run_sqitch

PRODUCT_SCHEMAS = {"ledger", "api"}


def sqitch_ok(args: list[str], db_name: str) -> None:
    result = run_sqitch(args, db_name)
    if result.returncode != 0:
        pytest.fail(describe(result), pytrace=False)


def product_schemas(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [list(PRODUCT_SCHEMAS)]
        ).fetchall()
    return {name for (name,) in rows}


def test_deploy_verify_revert_redeploy(empty_db: str):
    db_name = dbname(empty_db)

    sqitch_ok(["deploy"], db_name)
    sqitch_ok(["verify"], db_name)
    assert product_schemas(empty_db) == PRODUCT_SCHEMAS

    sqitch_ok(["revert", "-y"], db_name)
    assert product_schemas(empty_db) == set()

    sqitch_ok(["deploy"], db_name)
    sqitch_ok(["verify"], db_name)
    assert product_schemas(empty_db) == PRODUCT_SCHEMAS
