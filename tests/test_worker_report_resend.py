"""A report batch whose COMMIT succeeded but whose answer never arrived: the worker sends the same
batch again, the database answers already_done, and no audit row is written twice.

A TCP proxy between the worker and PostgreSQL swallows the server's answer to a COMMIT (only
report flushes run explicit transactions) and cuts the connection, as a network failure would.
"""

from __future__ import annotations

import asyncio
import logging
import re

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from agentledger_worker import Worker
from tests.support.workers import async_wait_until, running, sql, statuses, submit

# CommandComplete for COMMIT: 'C', int32 length (4 + 7), "COMMIT\0".
COMMIT_DONE = b"C\x00\x00\x00\x0bCOMMIT\x00"


class CommitCutter:
    """Forwards connections to PostgreSQL; once armed, cuts the first one that answers a COMMIT,
    after the server committed and before the client hears of it."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.armed = False
        self.cut = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        writers = (client_writer, server_writer)
        await asyncio.gather(self._pipe(client_reader, server_writer, writers, upstream=True),
                             self._pipe(server_reader, client_writer, writers, upstream=False),
                             return_exceptions=True)

    async def _pipe(self, reader, writer, writers, upstream: bool) -> None:
        try:
            while data := await reader.read(65536):
                if not upstream and self.armed and COMMIT_DONE in data:
                    self.armed = False
                    self.cut += 1
                    break  # the answer is dropped: the client cannot know the COMMIT happened
                writer.write(data)
                await writer.drain()
        finally:
            for w in writers:
                w.close()


def test_a_report_whose_commit_answer_was_lost_is_resent_and_applied_once(fresh_db, login_as, caplog):
    caplog.set_level(logging.INFO, "agentledger.worker")
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    params = conninfo_to_dict(worker_dsn)
    worker = Worker(name="resender", poll_interval=0.3, flush_delay=0.005)
    worker.handler("loan_application")(lambda event, ctx: ctx.approve(result={"n": event.payload["n"]}))
    worker.action("loan_application")(lambda event, ctx: ctx.complete({"paid": event.result["n"]}))

    async def scenario() -> int:
        cutter = CommitCutter(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
        port = await cutter.start()
        proxied = make_conninfo(worker_dsn, host="127.0.0.1", port=port, sslmode="disable")
        async with running(worker, proxied):
            for round_ in range(3):
                cutter.armed = True
                await asyncio.to_thread(submit, fresh_db, 200, "loan_application", f'{{"n": {round_}}}')
                await async_wait_until(lambda: statuses(fresh_db) == {"completed": 200 * (round_ + 1)}, 30,
                                       f"round {round_} completed")
        cutter.server.close()
        return cutter.cut

    cut = asyncio.run(scenario())
    assert cut == 3  # each round lost the answer to one report's COMMIT
    resent = [r.getMessage() for r in caplog.records if "sent again" in r.getMessage()]
    assert len(resent) == 3 and all(re.search(r"[1-9]\d* had been applied already", m) for m in resent), resent
    # Exactly once all the same: submit, claim, decision, completion per event, and a sound chain.
    assert sql(fresh_db, "SELECT count(*) FROM ledger.audit_log")[0][0] == 4 * 600
    assert sql(fresh_db, """SELECT count(*) FROM ledger.events
                             WHERE result->>'n' IS NULL OR status <> 'completed'""")[0][0] == 0
    assert sql(fresh_db, "SELECT ok FROM api.verify_audit()")[0][0] is True
