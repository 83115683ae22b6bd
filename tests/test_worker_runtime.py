"""The worker runtime in this process against a real database: outcomes, retries, polling, lost
leases, refused reports, and connections killed under it."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from agentledger_worker import SentToReview, Worker
from agentledger_worker.channels import WORK_CHANNEL
from agentledger_worker.runtime import WorkerStopped
from tests.support import databases
from tests.support.workers import async_wait_until, running, settings, sql, statuses, submit

FAST = dict(poll_interval=0.3, rescue_interval=0.3, flush_delay=0.001, listen_check_interval=0.5)


@pytest.fixture
def worker_dsn(fresh_db: str, login_as) -> str:
    return login_as(fresh_db, "agentledger_worker")


def principal_of(dsn: str) -> str:
    """The principal a login made by login_as acts for: its name is the login's."""
    return str(conninfo_to_dict(dsn)["user"])


def history(dsn: str, event_id: int) -> list[tuple]:
    return sql(
        dsn,
        """SELECT from_status::text, to_status::text, actor, reason, details, attempt
                         FROM ledger.audit_log WHERE event_id = %s ORDER BY seq""",
        event_id,
    )


def test_decision_then_action_completes_every_event_with_one_chain_each(fresh_db, worker_dsn):
    ids = submit(fresh_db, 300, "loan_application", '{"amount": 100}')
    worker = Worker(name="underwriter-1", **FAST)

    @worker.handler("loan_application")
    async def decide(event, ctx):
        return ctx.approve(result={"amount": event.payload["amount"]}, reason="within policy")

    @worker.action("loan_application")
    def disburse(event, ctx):  # a sync handler: runs in the thread pool
        assert event.status == "approved" and event.result == {"amount": 100}
        return ctx.complete({"sent": event.result["amount"]})

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 300}, 30, "300 completed")

    asyncio.run(scenario())

    steps = history(fresh_db, ids[0])
    agent = principal_of(worker_dsn)  # the actor: the principal the worker's login acts for
    assert [(f, t, a) for f, t, a, *_ in steps] == [
        (None, "queued", databases.USER),
        ("queued", "processing", agent),
        ("processing", "approved", agent),
        ("approved", "completed", agent),
    ]
    assert steps[1][4]["instance"] == "underwriter-1", "the worker's name labels its claim"
    assert steps[2][3] == "within policy" and steps[3][4] == {"sent": 100}
    assert sql(fresh_db, "SELECT count(*) FROM ledger.audit_log")[0][0] == 4 * 300
    assert sql(fresh_db, "SELECT ok FROM api.verify_audit()")[0][0] is True


def test_a_handler_that_raises_is_retried_with_back_off_then_fails_with_its_error(fresh_db, worker_dsn):
    settings(fresh_db, retry_base_delay="50 ms", retry_max_delay="100 ms")
    sql(fresh_db, "UPDATE ledger.event_types SET max_attempts = 3 WHERE name = 'fraud_alert'")
    [event_id] = submit(fresh_db, 1, "fraud_alert")
    calls: list[float] = []
    worker = Worker(name="triage-1", **FAST)

    @worker.handler("fraud_alert")
    async def triage(event, ctx):
        calls.append(time.monotonic())
        raise ConnectionError(f"model service down (attempt {event.attempts})")

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"failed": 1}, 30, "the event to fail")

    asyncio.run(scenario())

    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.05 and calls[2] - calls[1] >= 0.1  # back-off doubled
    steps = history(fresh_db, event_id)
    assert [t for _, t, *_ in steps] == [
        "queued",
        "processing",
        "queued",
        "processing",
        "queued",
        "processing",
        "failed",
    ]
    last = steps[-1]
    assert last[3] == "model service down (attempt 3)"
    assert last[4]["error_type"] == "ConnectionError"
    assert sql(fresh_db, "SELECT attempts, last_error FROM ledger.events")[0] == (3, "model service down (attempt 3)")


def test_fail_retry_and_wrong_return_values(fresh_db, worker_dsn):
    ids = dict(
        zip(["fail", "retry", "complete", "none", "list", "junk"], submit(fresh_db, 6, "support_ticket"), strict=False)
    )
    settings(fresh_db, retry_base_delay="1 hour")
    by_id = {v: k for k, v in ids.items()}
    worker = Worker(name="copilot-1", **FAST)

    @worker.handler("support_ticket")
    async def answer(event, ctx):
        kind = by_id[event.id]
        return {
            "fail": ctx.fail("customer unknown", "LookupError"),
            "retry": ctx.retry("mailbox busy"),
            "complete": ctx.complete(),
            "none": None,
            "list": ctx.approve(result=[1, 2]),
            "junk": 42,
        }[kind]

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"failed": 5, "queued": 1}, 30, "the outcomes")

    asyncio.run(scenario())

    rows = {by_id[i]: (s, e) for i, s, e in sql(fresh_db, "SELECT id, status::text, last_error FROM ledger.events")}
    assert rows["fail"] == ("failed", "customer unknown")
    assert rows["retry"] == ("queued", "mailbox busy")  # back to the queue, for an hour
    # Not allowed from processing: the database refuses, and the event fails with its message.
    assert rows["complete"][0] == "failed" and "complete applies to" in rows["complete"][1]
    assert rows["none"][0] == "failed" and "returned None" in rows["none"][1]
    assert rows["list"][0] == "failed" and "JSON object" in rows["list"][1]
    assert rows["junk"][0] == "failed" and "returned 42" in rows["junk"][1]


def test_inline_decision_then_action_in_one_handler(fresh_db, worker_dsn):
    [event_id] = submit(fresh_db, 1, "support_ticket", '{"text": "Card blocked. Please help."}')
    seen = {}
    worker = Worker(name="copilot-2", **FAST)

    @worker.handler("support_ticket")
    async def answer(event, ctx):
        decided = await ctx.decide(ctx.approve(result={"summary": "Card blocked."}, reason="answered"))
        seen["status"] = decided.status
        return ctx.complete({"reply": "sent"})

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1}, 30, "completion")

    asyncio.run(scenario())
    assert seen == {"status": "approved"}
    assert [t for _, t, *_ in history(fresh_db, event_id)] == ["queued", "processing", "approved", "completed"]


def test_a_decided_event_whose_action_never_ran_is_offered_to_action_handlers(fresh_db, worker_dsn, login_as):
    """The decider has no action handler: the decision hands the action off; another worker (an
    agent of its own), started later, takes it up. Meanwhile the statistics show it waiting."""
    [event_id] = submit(fresh_db, 1, "loan_application")
    actor_dsn = login_as(fresh_db, "agentledger_worker")
    decider = Worker(name="decider", **FAST)
    actor = Worker(name="disburser", **FAST)
    decider.handler("loan_application")(lambda event, ctx: ctx.approve())
    actor.action("loan_application")(lambda event, ctx: ctx.complete({"paid": True}))

    async def scenario():
        async with running(decider, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"approved": 1}, 30, "the decision")
        stats = sql(fresh_db, "SELECT api.queue_stats()")[0][0]
        assert stats["decided_awaiting_action"] == 1
        async with running(actor, actor_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1}, 30, "the action")

    asyncio.run(scenario())
    decider_agent, disburser_agent = principal_of(worker_dsn), principal_of(actor_dsn)
    assert [a for _, _, a, *_ in history(fresh_db, event_id)] == [
        databases.USER,
        decider_agent,
        decider_agent,
        disburser_agent,
    ]


def test_work_submitted_without_a_notification_is_found_by_polling(fresh_db, worker_dsn):
    # The throttle says a notification went out a moment ago: the submit below sends none.
    settings(fresh_db, notify_throttle="1 minute")
    worker = Worker(name="poller", **{**FAST, "poll_interval": 0.5})
    worker.handler("fraud_alert")(lambda event, ctx: ctx.reject("escalated"))
    worker.action("fraud_alert")(lambda event, ctx: ctx.complete())

    async def scenario():
        async with running(worker, worker_dsn):
            await asyncio.sleep(0.3)  # the start-up look has found nothing
            sql(fresh_db, "UPDATE ledger.wakeups SET last_notified_at = now()")
            with psycopg.connect(fresh_db, autocommit=True) as listener:
                listener.execute(f"LISTEN {WORK_CHANNEL}")
                submit(fresh_db, 1, "fraud_alert")
                started = time.monotonic()
                await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1}, 10, "the poll")
                took = time.monotonic() - started
                sent = list(listener.notifies(timeout=0.1))
            return took, sent

    took, sent = asyncio.run(scenario())
    assert not any("queued" in n.payload for n in sent)  # the submit was never announced
    assert took < 3  # found within a poll interval or so


@pytest.mark.stress  # a lease lost to the rescue
def test_a_lost_lease_stops_the_handler_and_nothing_is_reported(fresh_db, worker_dsn):
    """The lease is taken away (rescued as if it had expired): the next heartbeat is refused, the
    handler is cancelled, and the event is claimed again and finished."""
    settings(fresh_db, lease_duration="3 s")
    [event_id] = submit(fresh_db, 1, "loan_application")
    calls: list[str] = []
    worker = Worker(name="slow", **{**FAST, "heartbeat_interval": 0.2})

    @worker.handler("loan_application")
    async def decide(event, ctx):
        calls.append("start")
        if event.attempts == 1:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                calls.append("cancelled" if ctx.stopping.is_set() else "cancelled without stopping")
                raise
        return ctx.approve()

    worker.action("loan_application")(lambda event, ctx: ctx.complete())

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: calls == ["start"], 10, "the first attempt")
            # As the owner may: rescue as if 4 s had passed, beyond the 3 s lease (runnable again then).
            sql(fresh_db, "SELECT count(*) FROM api.rescue_expired_leases(10, now() + interval '4 s')")
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1}, 15, "the second attempt")

    asyncio.run(scenario())
    assert calls == ["start", "cancelled", "start"]
    assert [t for _, t, *_ in history(fresh_db, event_id)] == [
        "queued",
        "processing",
        "queued",
        "processing",
        "approved",
        "completed",
    ]


@pytest.mark.stress  # connections killed under load
def test_killed_connections_come_back_and_nothing_is_lost(fresh_db, worker_dsn):
    worker = Worker(name="sturdy", **FAST)

    @worker.handler("loan_application")
    async def decide(event, ctx):
        await asyncio.sleep(0.01)
        return ctx.approve()

    worker.action("loan_application")(lambda event, ctx: ctx.complete())

    def kill(purpose: str) -> int:
        return sql(
            fresh_db,
            """SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                                 WHERE application_name = %s""",
            f"agentledger worker sturdy ({purpose})",
        )[0][0]

    async def scenario():
        async with running(worker, worker_dsn):
            submit(fresh_db, 500, "loan_application")
            await async_wait_until(lambda: statuses(fresh_db)["completed"] >= 50, 30, "some progress")
            killed = [kill(p) for p in ("listen", "claims", "reports", "upkeep")]
            submit(fresh_db, 500, "loan_application")
            await async_wait_until(lambda: statuses(fresh_db)["completed"] >= 600, 30, "progress after the kill")
            killed += [kill("listen")]
            await asyncio.sleep(1)  # the listener reconnects; the next submit is announced to it
            submit(fresh_db, 10, "loan_application")
            await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1010}, 60, "every event done")
            return killed

    killed = asyncio.run(scenario())
    assert killed[0] == 1 and killed[1] == 1 and killed[4] == 1  # listen and claims existed and died
    # Exactly once: one claim, one decision and one completion per event.
    assert sql(fresh_db, "SELECT count(*) FROM ledger.audit_log")[0][0] == 4 * 1010


def test_a_decision_sent_to_review_stops_the_handler_and_runs_no_action(fresh_db, worker_dsn):
    sql(
        fresh_db,
        """INSERT INTO ledger.review_policies (event_type, always_review)
                     VALUES ('support_ticket', true), ('fraud_alert', true)""",
    )
    inline_id = submit(fresh_db, 1, "support_ticket")[0]
    returned_id = submit(fresh_db, 1, "fraud_alert")[0]
    seen: list[str] = []
    worker = Worker(name="proposer", **FAST)

    @worker.handler("support_ticket")
    async def answer(event, ctx):
        try:
            await ctx.decide(ctx.approve(result={"summary": "card blocked"}))
        except SentToReview:
            seen.append("inline: sent to review")
            raise
        seen.append("inline: went on")  # never: the action waits for the reviewers
        return ctx.complete()

    worker.handler("fraud_alert")(lambda event, ctx: ctx.reject("escalate"))

    @worker.action("fraud_alert")
    def act(event, ctx):
        seen.append("action ran")
        return ctx.complete()

    async def scenario():
        async with running(worker, worker_dsn):
            await async_wait_until(lambda: statuses(fresh_db) == {"in_review": 2}, 30, "both proposals")
            await asyncio.sleep(0.5)  # nothing more happens

    asyncio.run(scenario())
    assert seen == ["inline: sent to review"]
    for event_id in (inline_id, returned_id):
        assert [t for _, t, *_ in history(fresh_db, event_id)] == ["queued", "processing", "in_review"]


def test_a_login_that_acts_for_no_principal_stops_the_worker_at_its_first_claim(fresh_db, login_as, caplog):
    """The database acts for nobody on an unmapped login (SQLSTATE 28000, an OperationalError to
    psycopg): the worker stops with the database's message and hint instead of reconnecting for ever."""
    nobody = login_as(fresh_db, "agentledger_worker", None)
    submit(fresh_db, 1, "loan_application")
    worker = Worker(name="unmapped", **FAST)
    worker.handler("loan_application")(lambda event, ctx: ctx.approve())

    async def scenario() -> None:
        await asyncio.wait_for(worker.run_async(nobody), 10)

    with pytest.raises(WorkerStopped) as stopped:
        asyncio.run(scenario())
    login = principal_of(nobody)
    assert str(stopped.value) == (
        f"cannot claim events: database login {login} acts for no principal\n"
        f"hint: An administrator maps it: agentledger principals add NAME --kind KIND --login {login}."
    )
    assert "connection lost" not in caplog.text and "reconnected" not in caplog.text
    assert statuses(fresh_db) == {"queued": 1}


def test_a_principal_deactivated_while_its_worker_runs_stops_the_worker(fresh_db, worker_dsn, caplog):
    """Its login acts for nobody any more: the report of the event it holds is refused, and the
    worker stops with the database's message (the lease runs out; a rescue frees the event)."""
    worker = Worker(name="retiring", **FAST)
    deactivated = asyncio.Event()

    @worker.handler("loan_application")
    async def decide(event, ctx):
        if event.payload.get("wait"):
            await deactivated.wait()
        return ctx.approve()

    worker.action("loan_application")(lambda event, ctx: ctx.complete())

    async def scenario() -> None:
        task = asyncio.create_task(worker.run_async(worker_dsn))
        submit(fresh_db, 1, "loan_application")
        await async_wait_until(lambda: statuses(fresh_db) == {"completed": 1}, 30, "the first event")
        submit(fresh_db, 1, "loan_application", '{"wait": true}')
        await async_wait_until(lambda: statuses(fresh_db)["processing"] == 1, 30, "the second event held")
        sql(fresh_db, "SELECT api.deactivate_principal(%s, 'retired')", principal_of(worker_dsn))
        deactivated.set()
        await asyncio.wait_for(task, 10)

    with pytest.raises(WorkerStopped) as stopped:
        asyncio.run(scenario())
    assert f"database login {principal_of(worker_dsn)} acts for no principal" in str(stopped.value)
    assert statuses(fresh_db) == {"completed": 1, "processing": 1}, "nothing was recorded for it"
    assert "Traceback" not in caplog.text, caplog.text
