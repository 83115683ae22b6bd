"""A network that goes silent under a running worker: every connection stops carrying bytes without
closing (a half-open socket raises nothing by itself). The LISTEN connection's check and the
deadline on database calls notice, the worker reconnects, and no event is lost or done twice."""

from __future__ import annotations

import asyncio
import logging

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agentledger_worker import Worker
from tests.support.proxy import Proxy
from tests.support.workers import async_wait_until, running, sql, statuses, submit

pytestmark = pytest.mark.stress  # a silent network, noticed after timeouts


def test_a_silent_network_is_noticed_and_the_worker_carries_on(fresh_db, login_as, caplog):
    caplog.set_level(logging.INFO, "agentledger.worker")
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    params = conninfo_to_dict(worker_dsn)
    worker = Worker(
        name="steady",
        poll_interval=0.5,
        listen_check_interval=0.5,
        listen_check_timeout=0.5,
        call_timeout=2,
        rescue_interval=0.5,
    )
    worker.handler("fraud_alert")(lambda event, ctx: ctx.approve())
    worker.action("fraud_alert")(lambda event, ctx: ctx.complete())

    async def scenario() -> int:
        proxy = Proxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
        port = await proxy.start()
        async with running(worker, make_conninfo(worker_dsn, host="127.0.0.1", port=port, sslmode="disable")):
            await asyncio.to_thread(submit, fresh_db, 100, "fraud_alert")
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 100}, 30, "the first 100")
            frozen = proxy.freeze()
            await asyncio.to_thread(submit, fresh_db, 100, "fraud_alert")
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 200}, 60, "the next 100")
        await proxy.close()
        return frozen

    frozen = asyncio.run(scenario())
    assert frozen >= 3  # listen, claims, reports (and upkeep, once it has run)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("listen connection lost") for m in messages), messages
    assert any(m.startswith("claims connection lost") for m in messages), messages
    assert sql(fresh_db, "SELECT count(*) FROM ledger.audit_log")[0][0] == 4 * 200
