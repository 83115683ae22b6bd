"""The worker protocol over HTTP, for agents that reach only HTTP: claim, heartbeat, decide,
complete, fail, release, and the queue's statistics.

Every call passes the request's API key as `p_key`: the database checks it and finds the principal
who acts. Claims are leased to that principal (the key's name is recorded as the claiming instance),
and every report names its event by id and the lease token its claim returned; the database accepts
a report only from the principal holding the lease, with its token. Each endpoint is one call of the
database function of the same step (docs/worker-protocol.md), with a batch of one; the database
answers per event (api.report), and the answer becomes the HTTP status here:

- done: 200 with the report;
- already_done: 200 with the report too. The same report was applied before, so a client that
  retries after a lost answer gets success and nothing is written twice;
- refused: the report's code as problem+json (AL009 lease not held, also when another principal
  holds it, and AL003 wrong status 409, AL001 no such event 404), with the database's message.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from psycopg_pool import AsyncConnectionPool

from agentledger_api.auth import Caller
from agentledger_api.database import fetch_all, fetch_row, jsonb
from agentledger_api.deps import CachedStats, EventIdPath, Pool, Reader, WorkerKey
from agentledger_api.models import ClaimRequest, CompleteReport, DecideReport, FailReport, LeaseRef, ReleaseReport
from agentledger_api.problems import SQLSTATE_STATUS, Problem
from agentledger_api.responses import Claims, QueueStats, Report

router = APIRouter(tags=["work"])


async def claim(pool: AsyncConnectionPool, function: str, body: ClaimRequest, caller: Caller) -> Claims:
    rows = await fetch_all(
        pool,
        f"SELECT * FROM api.{function}(%(worker)s, %(limit)s, %(types)s::text[], p_key => %(key)s)",
        {"worker": caller.name, "limit": body.limit, "types": body.event_types, "key": caller.key},
    )
    return Claims.model_validate({"items": rows})


async def report(pool: AsyncConnectionPool, caller: Caller, call: str, params: dict[str, Any]) -> Report:
    """Runs one report of one event (`call` is the function call, an array of one per argument,
    ending with `p_key => %(key)s`) and answers with its api.report row, or raises the refusal it
    names. The database fences by token and by principal: a token passed on to another principal's
    key is refused (AL009), so the audit trail names the principal that holds the lease."""
    row = await fetch_row(pool, f"SELECT * FROM {call}", {**params, "key": caller.key})  # one row per event
    if row["outcome"] == "refused":
        raise refusal(row)
    return Report.model_validate(row)


def refusal(row: dict[str, Any]) -> Problem:
    # The report codes are all in SQLSTATE_STATUS; 409 covers a code added to the database first.
    status, title = SQLSTATE_STATUS.get(row["code"], (409, "Report refused"))
    return Problem(
        status,
        title,
        row["message"],
        code=row["code"],
        extra={"event_id": row["event_id"], "event_status": row["status"]},
    )


@router.post("/claims", summary="Claim queued events")
async def claim_events(body: ClaimRequest, pool: Pool, caller: WorkerKey) -> Claims:
    """Up to `limit` runnable queued events (of `event_types`, or any the key may claim), highest
    priority first, each now processing under a lease held by the key's principal. Keep each claim's
    `lease_token`: every report on the event must present it. An empty `items` means no work right
    now. A key limited to event types claims only those (403 when asking for others)."""
    return await claim(pool, "claim_events", body, caller)


@router.post("/claims/actions", summary="Claim decided events whose follow-up action is pending")
async def claim_actions(body: ClaimRequest, pool: Pool, caller: WorkerKey) -> Claims:
    """Approved or rejected events with no live lease (handed off with keep_lease false, released,
    or abandoned), with the decision's result and reason; finish each with complete or fail."""
    return await claim(pool, "claim_actions", body, caller)


@router.post("/events/{event_id}/heartbeat", summary="Extend a lease")
async def heartbeat(event_id: EventIdPath, body: LeaseRef, pool: Pool, caller: WorkerKey) -> Report:
    """Renews the lease to now + the lease duration; `lease_expires_at` is the new end. A 409
    (AL009) means the lease ended: stop working on the event, every report will be refused."""
    return await report(
        pool,
        caller,
        "api.heartbeat_events(ARRAY[%(id)s::bigint], ARRAY[%(token)s::uuid], p_key => %(key)s)",
        {"id": event_id, "token": body.lease_token},
    )


@router.post("/events/{event_id}/decide", summary="Approve or reject a claimed event")
async def decide(event_id: EventIdPath, body: DecideReport, pool: Pool, caller: WorkerKey) -> Report:
    return await report(
        pool,
        caller,
        "api.decide_events(ARRAY[%(id)s::bigint], ARRAY[%(token)s::uuid], ARRAY[%(decision)s::text], "
        "ARRAY[%(reason)s::text], ARRAY[%(result)s::jsonb], %(keep)s::boolean, p_key => %(key)s)",
        {
            "id": event_id,
            "token": body.lease_token,
            "decision": body.decision,
            "reason": body.reason,
            "result": jsonb(body.result),
            "keep": body.keep_lease,
        },
    )


@router.post("/events/{event_id}/complete", summary="The follow-up action succeeded")
async def complete(event_id: EventIdPath, body: CompleteReport, pool: Pool, caller: WorkerKey) -> Report:
    return await report(
        pool,
        caller,
        "api.complete_events(ARRAY[%(id)s::bigint], ARRAY[%(token)s::uuid], ARRAY[%(details)s::jsonb], "
        "p_key => %(key)s)",
        {"id": event_id, "token": body.lease_token, "details": jsonb(body.details)},
    )


@router.post("/events/{event_id}/fail", summary="Report a failed attempt")
async def fail(event_id: EventIdPath, body: FailReport, pool: Pool, caller: WorkerKey) -> Report:
    """Retryable while attempts remain: the event runs again at `run_after` (the back-off);
    otherwise it becomes failed."""
    return await report(
        pool,
        caller,
        "api.fail_events(ARRAY[%(id)s::bigint], ARRAY[%(token)s::uuid], ARRAY[%(error)s::text], "
        "ARRAY[%(error_type)s::text], ARRAY[%(retryable)s::boolean], p_key => %(key)s)",
        {
            "id": event_id,
            "token": body.lease_token,
            "error": body.error,
            "error_type": body.error_type,
            "retryable": body.retryable,
        },
    )


@router.post("/events/{event_id}/release", summary="Give a claimed event back unworked")
async def release(event_id: EventIdPath, body: ReleaseReport, pool: Pool, caller: WorkerKey) -> Report:
    """Runnable again at once, and the attempt its claim counted is returned (e.g. on shutdown)."""
    return await report(
        pool,
        caller,
        "api.release_events(ARRAY[%(id)s::bigint], ARRAY[%(token)s::uuid], %(reason)s::text, p_key => %(key)s)",
        {"id": event_id, "token": body.lease_token, "reason": body.reason},
    )


@router.get("/stats", summary="Queue statistics")
async def stats(cached: CachedStats, _: Reader) -> QueueStats:
    """Events per type and status, how long the longest-waiting runnable event has waited, decided
    events whose action is pending, and the notification queue's usage. The answer may be up to
    `AGENTLEDGER_STATS_CACHE_SECONDS` old."""
    return QueueStats.model_validate(await cached.get())
