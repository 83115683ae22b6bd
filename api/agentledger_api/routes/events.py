"""Events: submit, read, list, history, and the generic status change.

Every call passes the request's API key as `p_key`: the database checks it, finds the principal
who acts (the actor of what is written), and limits a scoped key to its event types and customers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response
from psycopg.types.json import Jsonb

from agentledger_api.database import fetch_all, fetch_one, fetch_row, jsonb
from agentledger_api.deps import EventIdPath, PageLimit, Pool, Reader, Settings, Submitter, WorkerKey
from agentledger_api.models import BIGINT_MAX, BatchEvent, IdempotencyKey, NewEvent, StatusChange, Text, Time
from agentledger_api.problems import Problem
from agentledger_api.responses import Event, EventPage, History, Receipt, Receipts

router = APIRouter(tags=["events"])
Status = Literal["queued", "processing", "in_review", "approved", "rejected", "completed", "failed"]


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["after"]
        # JSON true and false read as Python bools, which are ints too: a cursor holds a number only.
        if isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= BIGINT_MAX:
            return after
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise Problem(422, "Invalid cursor", "Pass the `next` value of the previous page unchanged.", code="validation")


def page(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": rows, "next": encode_cursor(rows[-1]["id"]) if len(rows) == limit else None}


# A replay answers 200 with the original event: documented, so clients and schema checks expect it there.
REPLAY: dict[int | str, dict[str, Any]] = {
    200: {"model": Receipt, "description": "A replay: the event first submitted with this Idempotency-Key and body"},
}


@router.post("/events", status_code=201, summary="Submit an event", responses=REPLAY)
async def submit(
    response: Response,
    event: NewEvent,
    pool: Pool,
    caller: Submitter,
    idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
) -> Receipt:
    """A replay with the same `Idempotency-Key` and body answers 200 with the original event and
    creates nothing; the same key with another body is refused (409). Idempotency keys are per
    customer and submitting principal: another principal's same key submits an event of its own."""
    row = await fetch_row(
        pool,
        "SELECT * FROM api.submit_event(%(customer_id)s, %(event_type)s, %(payload)s, %(priority)s, "
        "%(run_after)s, %(idempotency_key)s, %(correlation_id)s, %(caused_by)s, p_key => %(key)s)",
        {
            "customer_id": event.customer_id,
            "event_type": event.event_type,
            "payload": Jsonb(event.payload),
            "priority": event.priority,
            "run_after": event.run_after,
            "idempotency_key": idempotency_key,
            "correlation_id": event.correlation_id,
            "caused_by": event.caused_by_event_id,
            "key": caller.key,
        },
    )
    if not row.pop("created"):
        response.status_code = 200
    return Receipt.model_validate(row)


@router.post("/events/batch", status_code=201, summary="Submit many events in one transaction")
async def submit_batch(
    events: Annotated[list[BatchEvent], Body(min_length=1)],
    pool: Pool,
    settings: Settings,
    caller: Submitter,
) -> Receipts:
    batch = [e.model_dump(mode="json", exclude_none=True) for e in events]
    rows = await fetch_all(
        pool,
        "SELECT * FROM api.submit_events(%(batch)s, p_key => %(key)s)",
        {"batch": Jsonb(batch), "key": caller.key},
    )
    return Receipts.model_validate({"items": rows})


@router.get("/events/pending", summary="Queued events, oldest first")
async def pending(
    pool: Pool,
    caller: Reader,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EventPage:
    rows = await fetch_all(
        pool,
        "SELECT * FROM api.list_events(p_status => 'queued', p_after_id => %(after)s, p_limit => %(limit)s, "
        "p_key => %(key)s)",
        {"after": decode_cursor(cursor), "limit": limit, "key": caller.key},
    )
    return EventPage.model_validate(page(rows, limit))


@router.get("/events", summary="List events, filtered, a page at a time")
async def list_events(
    pool: Pool,
    caller: Reader,
    status: Status | None = None,
    customer_id: Text | None = None,
    event_type: Text | None = None,
    created_after: Time | None = None,
    created_before: Time | None = None,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EventPage:
    rows = await fetch_all(
        pool,
        "SELECT * FROM api.list_events(%(status)s, %(customer_id)s, %(event_type)s, %(after_time)s, "
        "%(before_time)s, %(after)s, %(limit)s, p_key => %(key)s)",
        {
            "status": status,
            "customer_id": customer_id,
            "event_type": event_type,
            "after_time": created_after,
            "before_time": created_before,
            "after": decode_cursor(cursor),
            "limit": limit,
            "key": caller.key,
        },
    )
    return EventPage.model_validate(page(rows, limit))


@router.get("/events/{event_id}", summary="One event")
async def get_event(event_id: EventIdPath, pool: Pool, caller: Reader) -> Event:
    row = await fetch_row(
        pool, "SELECT * FROM api.get_event(%(id)s, p_key => %(key)s)", {"id": event_id, "key": caller.key}
    )
    return Event.model_validate(row)


@router.get("/events/{event_id}/history", summary="The event's audit trail, a page at a time, with its chain verified")
async def history(
    event_id: EventIdPath,
    pool: Pool,
    caller: Reader,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> History:
    """Audit rows oldest first, `limit` at a time; pass `next` back as `cursor` for the following
    page. `verification` checks the event's whole chain on every page, not only the rows shown.
    Each entry names the principal who acted (`actor`) and the key it used (`api_key`)."""
    entries = await fetch_all(
        pool,
        "SELECT * FROM api.event_history_page(%(id)s, %(after)s, %(limit)s, p_key => %(key)s) ORDER BY seq",
        {"id": event_id, "after": decode_cursor(cursor), "limit": limit, "key": caller.key},
    )
    verdict = await fetch_one(
        pool, "SELECT ok, rows_checked, broken_seq, problem FROM api.verify_audit(%(id)s)", {"id": event_id}
    )
    next_page = encode_cursor(entries[-1]["seq"]) if len(entries) == limit else None
    return History.model_validate(
        {"event_id": event_id, "entries": entries, "verification": verdict, "next": next_page}
    )


@router.patch("/events/{event_id}/status", summary="Change an event's status")
async def change_status(
    event_id: EventIdPath,
    pool: Pool,
    caller: WorkerKey,
    status: Annotated[Text | None, Query(description="The new status (the older call's form)")] = None,
    change: Annotated[StatusChange | None, Body()] = None,
) -> Event:
    """The new status comes in a JSON body `{status, reason, result?}`, or as `?status=` alone.
    The database decides whether the move is allowed (409 with its message and hint if not). Only
    worker keys record outcomes; out of processing, approved or rejected, only the principal holding
    the lease may move the event (409 AL009 otherwise), with its token when it claimed it."""
    if change is None and status is None:
        raise Problem(
            422, "Invalid request", 'Give the new status: a JSON body {"status": ...} or ?status=.', code="validation"
        )
    if change is not None and status is not None and change.status != status:
        raise Problem(422, "Invalid request", "?status= and the body's status differ.", code="validation")
    change = change or StatusChange(status=status or "")
    row = await fetch_row(
        pool,
        "SELECT * FROM api.transition_event(%(id)s, %(status)s, %(reason)s, %(result)s, %(details)s, "
        "p_lease_token => %(token)s, p_key => %(key)s)",
        {
            "id": event_id,
            "status": change.status,
            "reason": change.reason,
            "result": jsonb(change.result),
            "details": jsonb(change.details),
            "token": change.lease_token,
            "key": caller.key,
        },
    )
    return Event.model_validate(row)
