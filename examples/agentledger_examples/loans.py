"""Loan underwriting: a decision handler and a follow-up action, each a plain function.

Shows the two-step style: `underwrite` decides (approve or reject, with a reason and a result the
audit trail keeps), then `act` runs the follow-up action of the decided event: it disburses an
approved loan or sends the decision letter of a rejected one. `act` is synchronous, so the worker
runs it in a thread. The rule is deterministic and needs no model service.

The agent decides every loan, large or small. Whether people must look before its decision counts
is the database's call, not the agent's: a review policy (docs/lifecycle.md, Human review) turns the
decision into a proposal that waits for reviewers. `./run` sets one for loans above 10,000, with two
reviewers. The follow-up action runs once the event is approved or rejected, by the agent alone or
by its reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RULE_VERSION = "loan-rules-2"
MAX_DEBT_TO_INCOME = 0.4  # (existing debts + amount) / annual income


@dataclass(frozen=True)
class Assessment:
    decision: str  # approved or rejected
    reason: str
    result: dict[str, Any]


class InvalidApplication(ValueError):
    """The payload cannot be assessed at all: retrying would not help."""


def assess(payload: dict[str, Any]) -> Assessment:
    """The underwriting rule: amount, annual income and existing debts of the payload."""
    amount = _number(payload, "amount", required=True)
    income = _number(payload, "income")
    debts = _number(payload, "debts")
    if amount <= 0:
        raise InvalidApplication(f"amount must be more than 0, not {amount:g}")
    if income <= 0:
        return Assessment("rejected", "no income stated", {"score": None, "rule_version": RULE_VERSION})
    score = round((debts + amount) / income, 3)
    if score > MAX_DEBT_TO_INCOME:
        return Assessment(
            "rejected",
            f"debt to income {score:.2f} is above {MAX_DEBT_TO_INCOME:.2f}",
            {"score": score, "rule_version": RULE_VERSION},
        )
    return Assessment(
        "approved", f"debt to income {score:.2f} is within policy", {"score": score, "rule_version": RULE_VERSION}
    )


def action_details(event_id: int, decision: str, payload: dict[str, Any]) -> dict:
    """What the follow-up action did (simulated): the funds sent, or the letter posted."""
    if decision == "approved":
        return {"action": "disbursed", "amount": payload["amount"], "transfer_id": f"T-{event_id}"}
    return {"action": "decision_letter_sent", "letter": "declined", "to": payload.get("customer_name", "applicant")}


async def underwrite(event, ctx):
    try:
        assessment = assess(event.payload)
    except InvalidApplication as exc:
        return ctx.fail(f"cannot assess the application: {exc}", "InvalidApplication")  # no retry
    if assessment.decision == "approved":
        return ctx.approve(result=assessment.result, reason=assessment.reason)
    return ctx.reject(reason=assessment.reason, result=assessment.result)


def act(event, ctx):
    return ctx.complete(action_details(event.id, event.status, event.payload))


def _number(payload: dict[str, Any], field: str, required: bool = False) -> float:
    value = payload.get(field)
    if value is None and not required:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidApplication(f"{field} must be a number, not {value!r}")
    return float(value)
