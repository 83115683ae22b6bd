"""A report batch whose COMMIT succeeded but whose answer never arrived: the worker sends the same
batch again, the database answers already_done, and no audit row is written twice.

A TCP proxy between the worker and PostgreSQL (tests/support/proxy.py) swallows the server's answer
to a COMMIT (only report flushes run explicit transactions) and cuts the connection, as a network
failure would.
"""

from __future__ import annotations

import asyncio
import logging
import re

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agentledger_worker import Worker
from tests.support.proxy import Proxy
from tests.support.workers import async_wait_until, running, sql, statuses, submit


def test_a_report_whose_commit_answer_was_lost_is_resent_and_applied_once(fresh_db, login_as, caplog):
    caplog.set_level(logging.INFO, "agentledger.worker")
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    params = conninfo_to_dict(worker_dsn)
    worker = Worker(name="resender", poll_interval=0.3, flush_delay=0.005)
    worker.handler("loan_application")(lambda event, ctx: ctx.approve(result={"n": event.payload["n"]}))
    worker.action("loan_application")(lambda event, ctx: ctx.complete({"paid": event.result["n"]}))

    async def scenario() -> int:
        cutter = Proxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
        port = await cutter.start()
        proxied = make_conninfo(worker_dsn, host="127.0.0.1", port=port, sslmode="disable")
        async with running(worker, proxied):
            for round_ in range(3):
                cutter.cut_next_commit()
                await asyncio.to_thread(submit, fresh_db, 200, "loan_application", f'{{"n": {round_}}}')
                await async_wait_until(
                    lambda round_=round_: statuses(fresh_db) == {"completed": 200 * (round_ + 1)},
                    30,
                    f"round {round_} completed",
                )
        await cutter.close()
        return cutter.cuts

    cut = asyncio.run(scenario())
    assert cut == 3  # each round lost the answer to one report's COMMIT
    resent = [r.getMessage() for r in caplog.records if "sent again" in r.getMessage()]
    assert len(resent) == 3 and all(re.search(r"[1-9]\d* had been applied already", m) for m in resent), resent
    # Exactly once all the same: submit, claim, decision, completion per event, and a sound chain.
    assert sql(fresh_db, "SELECT count(*) FROM ledger.audit_log")[0][0] == 4 * 600
    assert (
        sql(
            fresh_db,
            """SELECT count(*) FROM ledger.events
                             WHERE result->>'n' IS NULL OR status <> 'completed'""",
        )[0][0]
        == 0
    )
    assert sql(fresh_db, "SELECT ok FROM api.verify_audit()")[0][0] is True
