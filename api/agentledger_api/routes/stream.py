"""GET /events/stream: Server-Sent Events of every change, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse

from agentledger_api.auth import authenticate
from agentledger_api.database import fetch_all, fetch_one
from agentledger_api.deps import Feed, Pool, Reader, Settings
from agentledger_api.models import Text
from agentledger_api.problems import Problem

router = APIRouter(tags=["events"])
KEEP_ALIVE_SECONDS = 15.0
FIELDS = (
    "seq",
    "event_id",
    "customer_id",
    "version",
    "from_status",
    "to_status",
    "actor",
    "actor_kind",
    "api_key",
    "reason",
    "attempt",
    "recorded_at",
)


def message(entry: dict[str, Any]) -> str:
    data = json.dumps(jsonable_encoder({k: entry[k] for k in FIELDS}), separators=(",", ":"))
    return f"id: {entry['seq']}\nevent: change\ndata: {data}\n\n"


# One `change` message per status change; its data is one audit row of these FIELDS, as JSON.
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Server-Sent Events stream: `id: <seq>`, `event: change`, `data: {...}` per change",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
}


async def refuse_deep_replay(pool: Pool, last_event_id: int, most: int) -> None:
    """410 when Last-Event-ID is more than `most` audit rows back. Counted in seqs, which a rolled
    back transaction can skip: an estimate that errs towards refusing."""
    row = await fetch_one(pool, "SELECT last_seq FROM api.audit_feed_position()")
    behind = (row["last_seq"] if row else 0) - last_event_id
    if behind > most:
        raise Problem(
            410,
            "Replay too deep",
            f"Last-Event-ID {last_event_id} is about {behind} audit rows back; the stream replays at most "
            f"{most} (AGENTLEDGER_STREAM_REPLAY_ROWS). Reconnect without Last-Event-ID and page what "
            "changed meanwhile with GET /events and GET /events/{id}/history, or replay with an auditor key.",
            code="replay_too_deep",
        )


@router.get(
    "/events/stream",
    summary="Live changes of events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE,
)
async def stream(
    request: Request,
    feed: Feed,
    pool: Pool,
    settings: Settings,
    caller: Reader,
    customer_id: Annotated[Text | None, Query(max_length=64)] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**63 - 1)] = None,
) -> StreamingResponse:
    """One message per status change (a submit is the change to queued), with the audit seq as
    its id. After a disconnect, send the last id seen as `Last-Event-ID`: the stream first replays
    what was missed from the audit trail, then goes on live. It replays at most
    `AGENTLEDGER_STREAM_REPLAY_ROWS` rows (410 `replay_too_deep` for an older position), except
    to auditor keys. The stream shows every change, so a key whose reads the database limits (a
    submitter key, or a worker or reviewer key limited to event types or customers) is refused (403)."""
    if caller.role != "auditor" and (caller.role == "submitter" or caller.info.scoped):
        # The feed is every change of every customer. The database limits what such a key reads
        # (its scope; a submitter's own submissions: ledger._may_read), but api.audit_feed takes no
        # key, so the stream cannot be limited the same way: only keys that read everything get it.
        raise Problem(
            403,
            "Not allowed",
            f"Key {caller.name} reads only some events (its scope, or a submitter's own submissions); the stream "
            "shows every change. Read what the key may see with GET /events and GET /events/{id}/history.",
            code="forbidden",
        )
    recheck_every = max(settings.key_cache_seconds, 1.0)
    if last_event_id is not None and caller.role != "auditor":
        await refuse_deep_replay(pool, last_event_id, settings.stream_replay_rows)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"  # headers go out at once, before the feed has taken its position
        subscriber, caught_up_to = await feed.subscribe()
        sent = caught_up_to if last_event_id is None else last_event_id
        checked = time.monotonic()
        try:
            while last_event_id is not None and sent < caught_up_to:  # replay, a page at a time
                rows = await fetch_all(
                    pool, "SELECT * FROM api.audit_feed(%(a)s, %(b)s, 1000)", {"a": sent, "b": caught_up_to}
                )
                if not rows:
                    break
                for entry in rows:
                    if customer_id is None or entry["customer_id"] == customer_id:
                        yield message(entry)
                sent = rows[-1]["seq"]
            sent = max(sent, caught_up_to)
            while not subscriber.overflowed:
                if time.monotonic() - checked > recheck_every:
                    # A stream outlives the key cache: a revoked key's stream ends like its requests.
                    try:
                        await authenticate(request)
                    except Problem:
                        return
                    checked = time.monotonic()
                try:
                    entry = await asyncio.wait_for(subscriber.queue.get(), min(KEEP_ALIVE_SECONDS, recheck_every))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if entry["seq"] <= sent:
                    continue
                sent = entry["seq"]
                if customer_id is None or entry["customer_id"] == customer_id:
                    yield message(entry)
        finally:
            feed.unsubscribe(subscriber)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
