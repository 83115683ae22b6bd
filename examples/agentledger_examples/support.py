"""Support copilot: summarise a ticket and route it, in one handler.

Shows the inline style: `await ctx.decide(...)` records the decision now and keeps the lease, and
the same handler then runs the follow-up action and returns `ctx.complete(...)`. The summary is the
ticket's first sentence; the category comes from keywords. If the worker stops between the two
steps, the decided event comes back as an action: the same function, registered for both, then
only completes it.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY_CHARS = 160
CATEGORIES = (  # the first category with a keyword in the text wins
    ("fraud", ("fraud", "unauthorised", "unauthorized", "scam", "stolen")),
    ("cards", ("card", "pin", "atm")),
    ("lending", ("loan", "mortgage", "repayment", "credit")),
    ("access", ("login", "log in", "password", "locked out")),
    ("payments", ("transfer", "payment", "iban")),
)


def summarise(text: str) -> dict[str, Any]:
    """The first sentence (at most SUMMARY_CHARS characters) and a keyword category."""
    text = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(first) > SUMMARY_CHARS:
        first = first[: SUMMARY_CHARS - 1].rstrip() + "…"
    lowered = text.lower()
    category = next(
        (name for name, words in CATEGORIES if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words)),
        "general",
    )
    return {"summary": first, "category": category}


async def copilot(event, ctx):
    if not event.decided:
        text = event.payload.get("text") or event.payload.get("subject") or ""
        if not isinstance(text, str) or not text.strip():
            await ctx.decide(ctx.reject(reason="the ticket has no text to summarise", result={"category": "general"}))
        else:
            found = summarise(text)
            await ctx.decide(ctx.approve(result=found, reason=f"summarised; category {found['category']}"))
    # ctx.event is the event as decided: route it to the queue of its category.
    category = (ctx.event.result or {}).get("category", "general")
    return ctx.complete({"routed_to": f"{category}-queue"})
