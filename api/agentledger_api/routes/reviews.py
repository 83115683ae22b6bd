"""Reviews: the queue of events waiting for people, and a reviewer's verdict on one.

The database decides everything about a review (who may, how many approvals, what happens next):
api.list_reviews and api.review_event. The reviewer is the key's name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from agentledger_api.auth import Caller, allow
from agentledger_api.database import fetch_all, fetch_one
from agentledger_api.models import Text, Verdict
from agentledger_api.routes.events import EventIdPath, pool

router = APIRouter(tags=["reviews"])


@router.get("/reviews", summary="Events waiting for review, oldest first")
async def review_queue(
    request: Request,
    _: Caller = Depends(allow("review_queue")),
    event_type: Annotated[Text | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await fetch_all(pool(request), "SELECT * FROM api.list_reviews(%(type)s, %(limit)s)",
                           {"type": event_type, "limit": limit})
    return {"items": rows}


@router.post("/events/{event_id}/reviews", summary="Approve or reject an event in review")
async def review(request: Request, event_id: EventIdPath, verdict: Verdict,
                 caller: Caller = Depends(allow("review"))) -> dict[str, Any]:
    """One rejection decides the event rejected. It is approved once as many distinct reviewers as its
    review needs have approved (two for four-eyes); the agent or key that proposed may not review."""
    row = await fetch_one(pool(request), "SELECT * FROM api.review_event(%(id)s, %(verdict)s, %(reason)s, %(reviewer)s)",
                          {"id": event_id, "verdict": verdict.verdict, "reason": verdict.reason, "reviewer": caller.name})
    assert row is not None
    return row
