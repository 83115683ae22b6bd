"""Reviews: the queue of events waiting for people, and a reviewer's verdict on one.

The database decides everything about a review (who may, how many approvals, what happens next):
api.list_reviews and api.review_event. Both get the request's API key as `p_key`: the reviewer is
the key's principal, a person, whichever of their keys they use.
"""

from __future__ import annotations

from fastapi import APIRouter

from agentledger_api.database import fetch_all, fetch_row
from agentledger_api.deps import EventIdPath, PageLimit, Pool, Reviewer, ReviewQueueReader
from agentledger_api.models import Text, Verdict
from agentledger_api.responses import Event, Reviews

router = APIRouter(tags=["reviews"])


@router.get("/reviews", summary="Events waiting for review, oldest first")
async def review_queue(
    pool: Pool,
    caller: ReviewQueueReader,
    event_type: Text | None = None,
    limit: PageLimit = 100,
) -> Reviews:
    rows = await fetch_all(
        pool,
        "SELECT * FROM api.list_reviews(%(type)s, %(limit)s, p_key => %(key)s)",
        {"type": event_type, "limit": limit, "key": caller.key},
    )
    return Reviews.model_validate({"items": rows})


@router.post("/events/{event_id}/reviews", summary="Approve or reject an event in review")
async def review(event_id: EventIdPath, verdict: Verdict, pool: Pool, caller: Reviewer) -> Event:
    """One rejection decides the event rejected. It is approved once as many distinct people as its
    review needs have approved (two for four-eyes); a second approval by the same principal, with
    any of its keys, is refused (409 AL018), and the principal that proposed may not review (403 AL017)."""
    row = await fetch_row(
        pool,
        "SELECT * FROM api.review_event(%(id)s, %(verdict)s, %(reason)s, p_key => %(key)s)",
        {"id": event_id, "verdict": verdict.verdict, "reason": verdict.reason, "key": caller.key},
    )
    return Event.model_validate(row)
