"""Fraud triage: score an alert from its signals, clear it (approve) or escalate it (reject).

Shows an async decision handler and an async follow-up action that records what was done: the
alert closed, or the card frozen and a case opened for the fraud team. The score is a fixed sum
of weighted signals, so the same alert always gets the same answer.
"""

from __future__ import annotations

from typing import Any

RULE_VERSION = "fraud-rules-1"
ESCALATE_AT = 0.5
LARGE_AMOUNT = 5_000


def score_alert(payload: dict[str, Any]) -> tuple[float, list[str]]:
    """The risk score (0 to 1) and the signals that raised it."""
    signals: list[tuple[str, float]] = []
    amount = payload.get("amount")
    if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount > LARGE_AMOUNT:
        signals.append(("large_amount", 0.3))
    country, home = payload.get("country"), payload.get("home_country")
    if country and home and country != home:
        signals.append(("foreign_country", 0.25))
    if payload.get("new_device"):
        signals.append(("new_device", 0.2))
    velocity = payload.get("transactions_last_hour")
    if isinstance(velocity, int) and not isinstance(velocity, bool) and velocity > 5:
        signals.append(("high_velocity", 0.3))
    return round(min(1.0, sum(weight for _, weight in signals)), 2), [name for name, _ in signals]


async def triage(event, ctx):
    score, signals = score_alert(event.payload)
    result = {"score": score, "signals": signals, "rule_version": RULE_VERSION}
    if score >= ESCALATE_AT:
        return ctx.reject(reason=f"risk score {score:.2f} is at least {ESCALATE_AT}: escalated", result=result)
    return ctx.approve(result=result, reason=f"risk score {score:.2f} is below {ESCALATE_AT}: cleared")


async def act(event, ctx):
    if event.status == "approved":
        return ctx.complete({"action": "alert_closed"})
    return ctx.complete({"action": "card_frozen", "case_id": f"FR-{event.id}", "queue": "fraud-team"})
